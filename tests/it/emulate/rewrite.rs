//! URL Rewrite under the emulator: one fixture site per behaviour
//! (testdata/sites/rewrite_*), each answering over real HTTP with the
//! gateway behind it.

use super::{sites_dir, text, Emulator};
use crate::support::http::{request_with, HttpResponse};
use serde_json::Value;
use std::io::{Read, Write};

fn environ(response: &HttpResponse) -> Value {
    assert_eq!(response.status, 200, "{}{}", response.head, text(response));
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", text(response)))
}

/// A GET with its own Host header.
fn get_from_host(port: u16, path: &str, host: &str) -> HttpResponse {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    crate::support::http::parse(&raw)
}

fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}: ");
    response.head.lines().find_map(|line| line.to_ascii_lowercase().starts_with(&prefix).then(|| &line[prefix.len()..]))
}

/// The classic Python-on-IIS web.config: files (and /static) served by
/// the StaticFileModule, everything else rewritten to the handler; the
/// app sees the URL the client asked for, decoded, and the raw form.
#[test]
fn the_classic_config_serves_files_and_rewrites_the_rest_to_python() {
    let emulator = Emulator::site("rewrite_classic");
    let css = emulator.get("/static/site.css");
    assert_eq!((css.status, text(&css).as_str()), (200, "body { color: teal; }\n"));
    assert_eq!(header(&css, "content-type"), Some("text/css"));
    assert_eq!(text(&emulator.get("/robots.txt")), "User-agent: *\nDisallow:\n", "an existing file");
    assert_eq!(text(&emulator.get("/docs/")), "<h1>Docs</h1>\n", "an existing folder's default document");
    assert_eq!(emulator.get("/static/missing.css").status, 404, "/static never reaches Python");
    for (url, path_info, raw) in [
        ("/users/caf%C3%A9/a%20b?x=1", "/users/caf\u{c3}\u{a9}/a b", "/users/caf%C3%A9/a%20b"),
        ("/a+b/%E2%9C%93", "/a+b/\u{e2}\u{9c}\u{93}", "/a+b/%E2%9C%93"),
    ] {
        let env = environ(&emulator.get(url));
        assert_eq!(env["HTTP_X_ORIGINAL_URL"], url, "URL Rewrite keeps the original");
        assert_eq!(env["PATH_INFO"], path_info, "{url}: decoded, as WSGI wants it");
        assert_eq!(env["wsgi.path_info"], raw, "{url}: the raw form, as wfastcgi gives it");
        assert_eq!(env["SCRIPT_NAME"], "");
        assert_eq!(env["QUERY_STRING"], url.split_once('?').map_or("", |(_, q)| q), "appendQueryString");
        assert!(
            env["URL"].as_str().unwrap().starts_with("/handler.fcgi/"),
            "IIS's URL is the rewritten one: {}",
            env["URL"]
        );
    }
    // `/` is a folder, so the negated IsDirectory keeps it from Python, as
    // under IIS: the StaticFileModule refuses to list it.
    assert!(text(&emulator.get("/")).contains("HTTP Error 403.14"));
    let log = emulator.log("access.log");
    assert!(log.contains(" GET /users/caf%C3%A9/a%20b x=1 "), "the log shows the requested URL: {log}");
}

#[test]
fn http_is_redirected_to_https_with_the_path_and_query() {
    let emulator = Emulator::site("rewrite_https");
    let response = emulator.get("/account/login?next=%2Fhome");
    assert_eq!(response.status, 301, "{}", response.head);
    assert_eq!(header(&response, "location"), Some("https://localhost/account/login?next=%2Fhome"));
    assert!(text(&response).contains("Object Moved"), "IIS's redirect page");
    assert!(emulator.log("gateway.log").is_empty(), "no request reached Python");
}

#[test]
fn the_trailing_slash_rule_redirects_only_what_is_not_on_disk() {
    let emulator = Emulator::site("rewrite_trailing_slash");
    let response = emulator.get("/about?lang=en");
    assert_eq!(response.status, 302, "{}", response.head);
    assert_eq!(header(&response, "location"), Some("http://localhost/about/?lang=en"));
    assert_eq!(environ(&emulator.get("/about/"))["PATH_INFO"], "/about/");
    assert_eq!(environ(&emulator.get("/notes.txt"))["PATH_INFO"], "/notes.txt", "a file is not redirected");
}

#[test]
fn a_rewrite_map_rewrites_the_urls_it_lists() {
    let emulator = Emulator::site("rewrite_map");
    let env = environ(&emulator.get("/Diagnostics"));
    assert_eq!(env["QUERY_STRING"], "tabid=2&subtabid=29", "the map's value, keys without regard to case");
    assert_eq!(env["URL"], "/default.aspx");
    assert_eq!(env["HTTP_X_ORIGINAL_URL"], "/Diagnostics");
    let env = environ(&emulator.get("/default.aspx"));
    assert!(env.get("HTTP_X_ORIGINAL_URL").is_none(), "not in the map, not rewritten: {env}");
}

#[test]
fn server_variables_set_headers_and_iis_variables_where_allowed() {
    let emulator = Emulator::site("rewrite_server_variables");
    let env = environ(&emulator.get("/v2/users"));
    assert_eq!(env["HTTP_X_API_VERSION"], "2");
    assert_eq!(env["HTTP_X_FORWARDED_PROTO"], "http");
    assert_eq!(env["URL"], "/api/users");
    let kept = request_with(emulator.port, "GET", "/v3/users", "X-Forwarded-Proto: https\r\n", b"");
    assert_eq!(environ(&kept)["HTTP_X_FORWARDED_PROTO"], "https", "replace=\"false\" keeps what the client sent");
    let env = environ(&emulator.get("/secure/page"));
    assert_eq!((env["HTTPS"].as_str(), env["wsgi.url_scheme"].as_str()), (Some("on"), Some("https")));
    let refused = emulator.get("/sneaky");
    assert_eq!(refused.status, 500);
    let page = text(&refused);
    assert!(page.contains("HTTP Error 500.50"), "{page}");
    assert!(page.contains("The server variable &quot;HTTP_X_ADMIN&quot; is not allowed to be set."), "{page}");
    assert!(page.contains("<td>RewriteModule</td>") && page.contains("<td>BeginRequest</td>"), "{page}");
}

#[test]
fn rules_chain_until_stop_processing() {
    let emulator = Emulator::site("rewrite_stop_processing");
    assert_eq!(environ(&emulator.get("/first/X"))["URL"], "/second/X", "stopProcessing ends the rules");
    assert_eq!(environ(&emulator.get("/chain/X"))["URL"], "/third/x", "one rule's output is the next one's input");
    assert_eq!(environ(&emulator.get("/third/y"))["URL"], "/third/y", "a disabled rule does nothing");
}

#[test]
fn a_custom_response_answers_with_its_status_reason_and_description() {
    let emulator = Emulator::site("rewrite_custom_response");
    let blocked = request_with(emulator.port, "GET", "/", "User-Agent: Mozilla/5.0 (BadBot 1.0)\r\n", b"");
    assert!(blocked.head.starts_with("HTTP/1.1 403 Forbidden: Access is denied.\r\n"), "{}", blocked.head);
    assert!(text(&blocked).contains("HTTP Error 403.0"), "{}", text(&blocked));
    assert!(text(&blocked).contains("You do not have permission to view this directory or page"));
    let gone = emulator.get("/retired/old-api");
    assert_eq!(gone.status, 410);
    assert!(text(&gone).contains("HTTP Error 410.7") && text(&gone).contains("old-api was retired."));
    assert!(emulator.log("access.log").contains(" 410 7 "), "the substatus is logged");
    assert_eq!(environ(&emulator.get("/fine"))["PATH_INFO"], "/fine");
}

#[test]
fn abort_request_drops_the_connection_without_an_answer() {
    let emulator = Emulator::site("rewrite_abort");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", emulator.port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /wp-login.php HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    assert!(answer.is_empty(), "no bytes at all: {:?} {read:?}", String::from_utf8_lossy(&answer));
    assert_eq!(environ(&emulator.get("/blog"))["PATH_INFO"], "/blog");
}

#[test]
fn wildcard_and_exact_match_patterns() {
    let emulator = Emulator::site("rewrite_wildcard");
    let env = environ(&emulator.get("/blog/2024/hello-world.html"));
    assert_eq!(
        (env["URL"].as_str(), env["QUERY_STRING"].as_str()),
        (Some("/posts"), Some("year=2024&slug=hello-world"))
    );
    assert_eq!(environ(&emulator.get("/old-page.ASPX"))["URL"], "/new-page", "ExactMatch, without regard to case");
    assert_eq!(environ(&emulator.get("/blog/2024/x.htm"))["URL"], "/blog/2024/x.htm", "not the whole URL");
}

#[test]
fn nested_web_configs_merge_rules_parent_first_with_remove() {
    let emulator = Emulator::site("rewrite_nested");
    assert_eq!(environ(&emulator.get("/old/a"))["URL"], "/new/a");
    assert_eq!(environ(&emulator.get("/deep/old/a"))["URL"], "/new/a", "the root's rule sees the whole path");
    assert_eq!(emulator.get("/sub/old/a").status, 404, "sub/web.config removed \"Legacy\"; /sub is static");
    assert_eq!(text(&emulator.get("/sub/page")), "the inner page\n", "a rule relative to /sub");
    assert_eq!(text(&emulator.get("/sub/moved")), "the inner page\n", "the root's rule, then sub's");
}

#[test]
fn a_rule_that_cannot_run_is_a_500_52_named_at_start_up() {
    let emulator = Emulator::site("rewrite_malformed");
    let response = emulator.get("/articles/7");
    assert_eq!(response.status, 500);
    let page = text(&response);
    assert!(page.contains("HTTP Error 500.52"), "{page}");
    assert!(page.contains("The rewrite rule &quot;Unclosed group&quot; cannot run"), "{page}");
    let teleport = text(&emulator.get("/teleport/x"));
    assert!(
        teleport.contains("&quot;Beam me up&quot; cannot run: unknown action type &quot;teleport&quot;"),
        "{teleport}"
    );
    let log = emulator.log("emulator.log");
    let root = sites_dir().join("rewrite_malformed");
    let expected = format!("{}:11: the rewrite rule \"Unclosed group\" cannot run", root.join("web.config").display());
    assert!(log.contains(&expected), "{log}");
    let expected = format!("{}:7: the rewrite rule \"Beam me up\"", root.join("teleport/web.config").display());
    assert!(log.contains(&expected), "{log}");
}

/// The IIS Express applicationHost.config with URL Rewrite installed,
/// global rules, and distributed rules in a `<location>`.
fn apphost_with_rewrite(dir: &std::path::Path, with_module: bool) -> std::path::PathBuf {
    let original = std::fs::read_to_string(sites_dir().join("iis_express/applicationhost.config")).unwrap();
    let global_rules = r#"<rewrite>
            <globalRules>
                <rule name="Canonical host" stopProcessing="true">
                    <match url="(.*)" />
                    <conditions logicalGrouping="MatchAny">
                        <add input="{HTTP_HOST}" pattern="^www\.(.+)$" />
                        <add input="{HTTP_HOST}" pattern="^legacy-(.+)$" />
                    </conditions>
                    <action type="Redirect" url="http://{C:1}/{R:1}" redirectType="Permanent" />
                </rule>
                <rule name="Old shop">
                    <match url="^shop/(.*)" />
                    <serverVariables><set name="HTTP_X_SHOP_PATH" value="{R:1}" /></serverVariables>
                    <action type="Rewrite" url="/store/{R:1}" logRewrittenUrl="true" />
                </rule>
            </globalRules>
        </rewrite>
        <staticContent lockAttributes"#;
    let store_rules = r#"<location path="PythonSite/store">
        <system.webServer>
            <rewrite>
                <rules>
                    <rule name="Store item">
                        <match url="^item/(\d+)$" />
                        <conditions trackAllCaptures="true">
                            <add input="{QUERY_STRING}" pattern="colou?r=(\w+)" />
                            <add input="{HTTP_X_SHOP_PATH}" pattern="^(\w+)/" />
                        </conditions>
                        <action type="Rewrite" url="/catalog?id={R:1}&amp;colour={C:1}&amp;section={C:2}" appendQueryString="false" />
                    </rule>
                </rules>
            </rewrite>
        </system.webServer>
    </location>
</configuration>"#;
    let mut config =
        original.replace("<staticContent lockAttributes", global_rules).replace("</configuration>", store_rules);
    if with_module {
        config = config
            .replace(
                r#"<add name="FastCgiModule" image="%IIS_BIN%\iisfcgi.dll" />"#,
                r#"<add name="FastCgiModule" image="%IIS_BIN%\iisfcgi.dll" />
            <add name="RewriteModule" image="%IIS_BIN%\rewrite.dll" />"#,
            )
            .replace(
                r#"<add name="FastCgiModule" lockItem="true" />"#,
                r#"<add name="FastCgiModule" lockItem="true" />
                <add name="RewriteModule" />"#,
            );
    }
    let path = dir.join("applicationhost.config");
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn global_rules_run_first_and_location_rules_see_their_output() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::apphost(&apphost_with_rewrite(dir.path(), true), "PythonSite");
    let moved = get_from_host(emulator.port, "/a/b?c=d", "www.example.test");
    assert_eq!((moved.status, header(&moved, "location")), (301, Some("http://example.test/a/b?c=d")));
    let moved = get_from_host(emulator.port, "/x", "legacy-example.test");
    assert_eq!(header(&moved, "location"), Some("http://example.test/x"), "MatchAny: the condition that held");
    let env = environ(&emulator.get("/shop/toys/7?color=red"));
    assert_eq!(env["HTTP_X_SHOP_PATH"], "toys/7", "a global rule may set any variable");
    assert_eq!(env["HTTP_X_ORIGINAL_URL"], "/shop/toys/7?color=red");
    let env = environ(&emulator.get("/shop/item/7?color=red"));
    assert_eq!(env["URL"], "/catalog", "/store's rule ran on the global rule's output");
    assert_eq!(env["QUERY_STRING"], "id=7&colour=red&section=item", "trackAllCaptures numbers on");
    assert!(emulator.log("access.log").contains(" GET /catalog "), "logRewrittenUrl");
}

#[test]
fn without_the_rewrite_module_the_rules_do_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::apphost(&apphost_with_rewrite(dir.path(), false), "PythonSite");
    let env = environ(&get_from_host(emulator.port, "/shop/item/7", "www.example.test"));
    assert_eq!(env["PATH_INFO"], "/shop/item/7");
}

/// The classic rule in a sub-application's web.config, with the
/// `SCRIPT_NAME` appSetting that mounts the app there: the app sees its
/// mount point and the rest of the URL the client asked for.
#[test]
fn a_rewritten_request_to_a_sub_application_keeps_its_script_name() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    std::fs::create_dir(&shop).unwrap();
    let classic = std::fs::read_to_string(sites_dir().join("rewrite_classic/web.config")).unwrap();
    let config = classic.replace(r"C:\Program Files\iiswsgi\iiswsgi.exe|serve", "%IISWSGI_EXE%|serve").replace(
        r#"<add key="WSGI_HANDLER" value="apps.echo" />"#,
        r#"<add key="WSGI_HANDLER" value="apps.echo" />
    <add key="SCRIPT_NAME" value="/shop" />"#,
    );
    std::fs::write(shop.join("web.config"), config).unwrap();
    std::fs::write(shop.join("handler.fcgi"), b"").unwrap();
    let original = std::fs::read_to_string(sites_dir().join("iis_express/applicationhost.config")).unwrap();
    let assets = "static_nested\\static\" />\n                </application>\n";
    assert!(original.contains(assets));
    let apphost = original.replace(
        assets,
        &format!(
            "{assets}                <application path=\"/shop\">\n                    <virtualDirectory path=\"/\" physicalPath=\"{}\" />\n                </application>\n",
            shop.display()
        ),
    );
    let apphost = apphost.replace(
        r#"<add name="FastCgiModule" lockItem="true" />"#,
        r#"<add name="FastCgiModule" lockItem="true" />
                <add name="RewriteModule" />"#,
    );
    let path = dir.path().join("applicationhost.config");
    std::fs::write(&path, apphost).unwrap();
    let emulator = Emulator::apphost(&path, "PythonSite");
    for (url, path_info) in [("/Shop/caf%C3%A9/a+b?x=1", "/caf\u{c3}\u{a9}/a+b"), ("/shop/cart/", "/cart/")] {
        let env = environ(&emulator.get(url));
        assert_eq!((env["SCRIPT_NAME"].as_str(), env["PATH_INFO"].as_str()), (Some("/shop"), Some(path_info)), "{url}");
        assert_eq!(env["APPL_MD_PATH"], "/LM/W3SVC/2/ROOT/shop");
        assert_eq!(
            env["URL"].as_str().map(|u| u.to_lowercase().starts_with("/shop/handler.fcgi/")),
            Some(true),
            "{env}"
        );
    }
}
