//! The keywords steward accepts, by where they may appear. Anything else is refused before a
//! task runs, with a did-you-mean.

pub const PLAY: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "remote_user",
    "connection",
    "port",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "strategy",
    "order",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "tags",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "diff",
    "force_handlers",
    "run_once",
    "throttle",
    "collections",
    "timeout",
    "module_defaults",
    "debugger",
    // steward's graph extensions
    "needs",
    "max_concurrent_tasks",
];

/// Keywords a block, a role entry or a task may carry and pass down to tasks.
pub const COMMON: &[&str] = &[
    "name",
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "remote_user",
    "connection",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "throttle",
    "timeout",
    "port",
    "collections",
    "module_defaults",
    "debugger",
];

pub const BLOCK: &[&str] = &["block", "rescue", "always"];

pub const TASK: &[&str] = &[
    "action",
    "local_action",
    "args",
    "loop",
    "loop_control",
    "register",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "async",
    "poll",
    "id",
    "after",
];

pub const ROLE_ENTRY: &[&str] = &["role"];

pub fn is_task_keyword(k: &str) -> bool {
    COMMON.contains(&k) || TASK.contains(&k) || k.starts_with("with_")
}
