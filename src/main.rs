//! The `steward` binary: parse the command line, run, exit with ansible-playbook's codes.

fn main() {
    // A closed pipe (`steward ... | head`) ends the program quietly, as other Unix tools do.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(steward::cli::main());
}
