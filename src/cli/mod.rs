//! The command line: `steward run`, `steward inventory`, `steward doc`, `steward completions`.
//! Flags are named and behave as ansible-playbook's and ansible-inventory's.

mod doc;
mod inventory_cmd;
mod pull;
mod report_cmd;
mod run;
mod vars;
mod vault_cmd;

use clap::{Args as ClapArgs, CommandFactory, Parser, Subcommand};

use crate::diag::Diagnostic;
use crate::exec::exit;

/// `steward --version`, on every subcommand: the release and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("STEWARD_COMMIT"), ")");

#[derive(Parser, Debug)]
#[command(name = "steward", version = VERSION, propagate_version = true, about = "Run Ansible playbooks: a real dependency graph, no agent, no Python on the hosts", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run playbooks (as ansible-playbook)
    Run(Box<RunArgs>),
    /// Run one module on the hosts of a pattern (as `ansible`): `steward adhoc web -m shell -a uptime`
    Adhoc(AdhocArgs),
    /// Show the inventory (as ansible-inventory)
    Inventory(InventoryArgs),
    /// Print the task graph of playbooks as DOT (what runs after what, what may run side by side)
    Graph(GraphArgs),
    /// Show a module's arguments, defaults, return values and an example (as ansible-doc)
    Doc(DocArgs),
    /// Encrypt, decrypt, view and edit Ansible Vault files (as ansible-vault)
    Vault(VaultArgs),
    /// Fetch playbooks from git and run them on this machine (as ansible-pull)
    Pull(PullArgs),
    /// Reports made from the `--output json` events of runs: `steward report merge` makes one
    /// recap, HTML report, JUnit file and exit code of the shards of a run
    Report(ReportArgs),
    /// Print shell completions
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), as `man` reads it: `steward man > steward.1`
    Man,
}

#[derive(ClapArgs, Debug, Clone, Default)]
pub struct InventoryOpts {
    /// Inventory file, folder, or comma list (`web1,web2,`); repeatable. Default: localhost
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Only hosts matching this pattern (or @file with one host per line)
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,
    /// Extra variables: key=value, JSON or YAML, or @file; repeatable
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS")]
    pub extra_vars: Vec<String>,
    #[command(flatten)]
    pub vault: VaultOpts,
}

/// Where vault passwords come from.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct VaultOpts {
    /// A file holding the vault password (or a script printing it); repeatable
    #[arg(long = "vault-password-file", visible_alias = "vault-pass-file", global = true)]
    pub vault_password_file: Vec<String>,
    /// Ask for the vault password
    #[arg(short = 'J', long = "ask-vault-pass", visible_alias = "ask-vault-password", global = true)]
    pub ask_vault_pass: bool,
    /// A vault id and where its password comes from: `label@file`, `label@prompt`, or `file`
    #[arg(long = "vault-id", global = true)]
    pub vault_id: Vec<String>,
}

#[derive(ClapArgs, Debug)]
pub struct RunArgs {
    /// Playbooks to run, in order
    #[arg(value_name = "PLAYBOOK")]
    pub playbooks: Vec<std::path::PathBuf>,
    #[arg(skip)]
    pub one_line: bool,
    #[command(flatten)]
    pub inv: InventoryOpts,
    /// Only run tasks with these tags (comma separated; repeatable)
    #[arg(short = 't', long = "tags", value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Skip tasks with these tags
    #[arg(long = "skip-tags", value_name = "TAGS")]
    pub skip_tags: Vec<String>,
    /// Folders of modules, before `library` in ansible.cfg (colon separated; repeatable)
    #[arg(short = 'M', long = "module-path", value_name = "MODULE_PATH")]
    pub module_path: Vec<String>,
    /// Don't change anything; report what would change
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show the differences in files and attributes
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Hosts to work on at once (default 256, or `forks` in ansible.cfg)
    #[arg(short = 'f', long = "forks", value_name = "FORKS")]
    pub forks: Option<usize>,
    /// Connect as this user
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,
    /// Connection type (local, ssh)
    #[arg(short = 'c', long = "connection")]
    pub connection: Option<String>,
    /// SSH private key file
    #[arg(long = "private-key", visible_alias = "key-file", value_name = "PRIVATE_KEY_FILE")]
    pub private_key: Option<String>,
    /// Ask for the SSH password
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// A file holding the SSH password (or a program that prints it)
    #[arg(long = "connection-password-file", visible_alias = "conn-pass-file", value_name = "FILE")]
    pub connection_password_file: Option<std::path::PathBuf>,
    /// SSH connect timeout in seconds (default 10)
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,
    /// Extra arguments for ssh, as `-o Key=Value` (the options steward can honour are used)
    #[arg(long = "ssh-common-args", allow_hyphen_values = true)]
    pub ssh_common_args: Option<String>,
    /// Same as --ssh-common-args
    #[arg(long = "ssh-extra-args", allow_hyphen_values = true)]
    pub ssh_extra_args: Option<String>,
    /// Accepted for ansible-playbook's command lines: steward's file transfers run inside its
    /// own SSH connection, so there is no sftp program to pass them to (a warning says so)
    #[arg(long = "sftp-extra-args", allow_hyphen_values = true)]
    pub sftp_extra_args: Option<String>,
    /// Accepted as --sftp-extra-args is (steward runs no scp)
    #[arg(long = "scp-extra-args", allow_hyphen_values = true)]
    pub scp_extra_args: Option<String>,
    /// Run operations with become (sudo)
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// Become this user (default root)
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    /// Privilege escalation method (sudo, su, doas)
    #[arg(long = "become-method")]
    pub become_method: Option<String>,
    /// Ask for the privilege escalation password
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    /// A file holding the privilege escalation password (or a program that prints it)
    #[arg(long = "become-password-file", visible_alias = "become-pass-file", value_name = "FILE")]
    pub become_password_file: Option<std::path::PathBuf>,
    /// Run the notified handlers even on a host that failed (the play keyword for every play)
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,
    /// One step at a time: ask on the terminal before each task (yes, no, or continue without
    /// asking)
    #[arg(long = "step")]
    pub step: bool,
    /// Run the K-th of N stable slices of the inventory (by a hash of each host's name), or
    /// `auto`: the slice a Kubernetes Indexed Job, GitLab CI `parallel:` or Slurm array gives
    #[arg(long = "shard", value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// Accepted for ansible-playbook's command lines: steward keeps no fact cache between runs,
    /// so there is none to clear
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    /// Exit with code 10 when something changed (with --check: would change): drift for CI
    #[arg(long = "fail-on-change")]
    pub fail_on_change: bool,
    /// Output: `text` (ansible-playbook's) or `json` (one JSON event per line on stdout)
    #[arg(long = "output", value_parser = ["text", "json"])]
    pub output: Option<String>,
    /// Also write a JUnit XML report of the run to FILE
    #[arg(long = "junit", value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// Also write a self-contained HTML report of the run (changes with diffs, failures,
    /// timings per host) to FILE
    #[arg(long = "report", value_name = "FILE.html")]
    pub report: Option<std::path::PathBuf>,
    /// Start the playbook at the task with this name
    #[arg(long = "start-at-task")]
    pub start_at_task: Option<String>,
    /// List the hosts each play would run on, and stop
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    /// List the tasks each play would run, and stop
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,
    /// List the tags of each play, and stop
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    /// Check the playbooks (syntax, keywords, modules, arguments) and stop
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// More output: -v results, -vv commands, -vvv connections
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ClapArgs, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub inv: InventoryOpts,
    /// All hosts and groups as JSON, with host variables
    #[arg(long)]
    pub list: bool,
    /// The groups as a tree (optionally from GROUP)
    #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "GROUP")]
    pub graph: Option<String>,
    /// One host's variables as JSON
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// With --graph, show variables too
    #[arg(long)]
    pub vars: bool,
    /// YAML instead of JSON
    #[arg(short = 'y', long)]
    pub yaml: bool,
}

#[derive(ClapArgs, Debug)]
pub struct AdhocArgs {
    /// Host pattern (`all`, `web:&prod`, ...)
    pub pattern: String,
    /// Module to run
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    pub module: String,
    /// The module's arguments (`k=v` or free text)
    #[arg(short = 'a', long = "args")]
    pub args: Option<String>,
    /// One line per host
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,
    #[command(flatten)]
    pub run: Box<AdhocRun>,
}

/// The options `steward adhoc` shares with `steward run`.
pub type AdhocRun = RunArgs;

#[derive(ClapArgs, Debug)]
pub struct PullArgs {
    /// The git repository of the playbooks (any URL git takes: https, ssh, file://)
    #[arg(short = 'U', long = "url")]
    pub url: String,
    /// The branch, tag or commit to check out (default: the repository's default branch)
    #[arg(short = 'C', long = "checkout")]
    pub checkout: Option<String>,
    /// Where the clone lives (default: ~/.ansible/pull/HOSTNAME)
    #[arg(short = 'd', long = "directory")]
    pub directory: Option<String>,
    /// Run only when the repository moved since the last pull
    #[arg(short = 'o', long = "only-if-changed")]
    pub only_if_changed: bool,
    /// A whole clone instead of the last commit only
    #[arg(long = "full")]
    pub full: bool,
    /// The playbook to run, in the repository (default: FQDN.yml, HOSTNAME.yml or local.yml)
    pub playbook: Option<String>,
    /// Inventory (default: localhost)
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Hosts to run on (default: this machine's names)
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Extra variables, as for `run`
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Only tasks with these tags
    #[arg(short = 't', long = "tags")]
    pub tags: Vec<String>,
    /// Skip tasks with these tags
    #[arg(long = "skip-tags")]
    pub skip_tags: Vec<String>,
    /// Change nothing; say what would change
    #[arg(long = "check")]
    pub check: bool,
    /// Show the differences in changed files
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// A file holding the vault password; repeatable
    #[arg(long = "vault-password-file")]
    pub vault_password_file: Vec<String>,
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ClapArgs, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub action: ReportAction,
}

#[derive(Subcommand, Debug)]
pub enum ReportAction {
    /// One run from its shards: each FILE holds a shard's `steward run --output json` events
    Merge {
        /// The shards' event files
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Also write the whole run's HTML report here
        #[arg(long = "report", value_name = "FILE.html")]
        report: Option<std::path::PathBuf>,
        /// Also write the whole run's JUnit XML here
        #[arg(long = "junit", value_name = "FILE.xml")]
        junit: Option<std::path::PathBuf>,
    },
}

#[derive(ClapArgs, Debug)]
pub struct VaultArgs {
    /// encrypt, decrypt, view, edit or encrypt_string
    #[arg(value_parser = ["encrypt", "decrypt", "view", "edit", "encrypt_string"])]
    pub action: String,
    /// Files (or, for encrypt_string, the strings to encrypt)
    pub items: Vec<String>,
    /// encrypt_string: the variable name to print the value under
    #[arg(short = 'n', long = "name")]
    pub name: Option<String>,
    /// The vault id to encrypt with (a 1.2 vault carrying this label)
    #[arg(long = "encrypt-vault-id")]
    pub encrypt_vault_id: Option<String>,
    /// Write the result here instead of in place (or to stdout with `-`)
    #[arg(long = "output")]
    pub output: Option<String>,
    #[command(flatten)]
    pub vault: VaultOpts,
}

#[derive(ClapArgs, Debug)]
pub struct GraphArgs {
    /// Playbooks to draw
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub inv: InventoryOpts,
}

#[derive(ClapArgs, Debug)]
pub struct DocArgs {
    /// A module name; without one, list the modules
    #[arg(value_parser = doc::ModuleName, hide_possible_values = true)]
    pub module: Option<String>,
    /// List the modules
    #[arg(short = 'l', long)]
    pub list: bool,
    /// Print a task to paste into a playbook: each argument, its help as a comment
    #[arg(short = 's', long)]
    pub snippet: bool,
}

/// What stops a command. Subcommands return it instead of printing; [`main`] prints it once, in
/// one format (a [`Diagnostic`]'s), and exits with its code.
#[derive(Debug)]
pub enum Error {
    /// A fault in the playbooks, found loading or checking them before anything runs:
    /// ansible-playbook's exit code 4.
    Playbook(Diagnostic),
    /// Anything else that stops a command: a bad option, a file that is not there, no terminal
    /// to ask a password on, an inventory that does not load. Exit code 1.
    Command(Diagnostic),
    /// Ctrl-C during a run: exit code 99, in ansible-playbook's words.
    Interrupted,
}

impl Error {
    /// A [`Error::Command`] with a message only.
    pub fn command(message: impl Into<String>) -> Error {
        Error::Command(Diagnostic::new(message))
    }

    /// The process's exit code for this error, as ansible-playbook's.
    pub fn code(&self) -> i32 {
        match self {
            Error::Playbook(_) => exit::PARSE,
            Error::Command(_) => exit::ERROR,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }

    /// The text for stderr.
    pub fn render(&self) -> String {
        match self {
            Error::Playbook(d) | Error::Command(d) => d.render(),
            Error::Interrupted => "\n[ERROR]: User interrupted execution\n".into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Error {}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Error {
        Error::Command(d)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::command(message)
    }
}

/// Parse the command line, run, and return the process's exit code: the command's own (a run's
/// outcome), or, when it stopped with an [`Error`], that error's, printed here and only here.
pub fn main() -> i32 {
    crate::report::install_warnings();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run::run(*a),
        Command::Inventory(a) => inventory_cmd::run(a).map(|()| exit::OK),
        Command::Doc(a) => doc::run(a).map(|()| exit::OK),
        Command::Graph(a) => run::graph(a).map(|()| exit::OK),
        Command::Adhoc(a) => run::adhoc(a),
        Command::Vault(a) => vault_cmd::run(a).map(|()| exit::OK),
        Command::Report(a) => report_cmd::run(a),
        Command::Pull(a) => pull::run(a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "steward", &mut std::io::stdout());
            // clap_complete's fish script offers no values for a positional argument.
            if shell == clap_complete::Shell::Fish {
                print!("{}", doc::fish_module_names());
            }
            Ok(exit::OK)
        }
        Command::Man => man(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.render());
            e.code()
        }
    }
}

/// The manual page, from the same definitions as `--help`.
fn man() -> Result<i32, Error> {
    use std::io::Write as _;
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out).map_err(|e| Error::command(format!("cannot render the manual page: {e}")))?;
    let _ = std::io::stdout().write_all(&out);
    Ok(exit::OK)
}
