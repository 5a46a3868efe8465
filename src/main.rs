//! The `steward` binary: parse the command line, run, exit with ansible-playbook's codes.
//!
//! SIGPIPE stays ignored (Rust's default): the executor writes to the stdin of commands that
//! may exit without reading it, and that must be an error on the write, not the end of the run.

fn main() {
    std::process::exit(steward::cli::main());
}
