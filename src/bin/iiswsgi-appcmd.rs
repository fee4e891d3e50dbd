//! `iiswsgi-appcmd`: the mock appcmd (see `iiswsgi_emulator::appcmd`).
//! appcmd's exit codes are Win32 error codes; on Unix only their low byte
//! survives (1168 becomes 144), as with any exit status there.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stdout = std::io::stdout();
    let code = iiswsgi_emulator::appcmd::run(&args, &mut stdout);
    let _ = stdout.flush();
    std::process::exit(code);
}
