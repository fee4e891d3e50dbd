//! The template expansion against Python's own `ntpath.expandvars`: many
//! generated strings, one Python process, every result compared.

use iiswsgi_proto::msdeploy::expandvars;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::io::Write;
use std::process::{Command, Stdio};

/// Names defined for both sides; the others stay unknown.
const ENVIRONMENT: [(&str, &str); 5] =
    [("A", "1"), ("DIST_NAME", "sample"), ("a_b", "under score"), ("x-y", "dash"), ("P", "%A% $A '")];

/// Strings made of the characters that matter to expandvars.
fn template() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::prop_oneof![
            proptest::sample::select(vec!["%", "$", "{", "}", "'", "%%", "$$", "${", "\\", " ", ".", "é"]),
            proptest::sample::select(vec!["A", "DIST_NAME", "a_b", "x-y", "P", "B", "a", "_", "-", "9", "Z"]),
        ],
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

#[test]
fn matches_python_ntpath_expandvars() {
    if !crate::support::require("python3") {
        return;
    }
    let mut runner = TestRunner::deterministic();
    let strategy = template();
    let mut cases: Vec<String> = (0..5000).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect();
    cases.extend(["%A%", "'%A%'", "${A}$A$$%%", "%", "$", "'", "%A", "${A", "$A-x-y"].map(String::from));
    let script = "import json, ntpath, os, sys\n\
        data = json.load(sys.stdin)\n\
        os.environ.clear()\n\
        os.environ.update(data['env'])\n\
        json.dump([ntpath.expandvars(c) for c in data['cases']], sys.stdout)\n";
    let mut python =
        Command::new("python3").arg("-c").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let env: serde_json::Map<String, serde_json::Value> =
        ENVIRONMENT.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
    let input = serde_json::json!({ "env": env, "cases": cases });
    python.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success());
    let expected: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    let lookup = |name: &str| ENVIRONMENT.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    for (case, expected) in cases.iter().zip(&expected) {
        assert_eq!(&expandvars(case, lookup), expected, "input {case:?}");
    }
    assert_eq!(expected.len(), cases.len());
}
