//! `steward pull`: ansible-pull. On the host itself (a machine being imaged, or one a push cannot
//! reach), fetch the playbooks from a git repository, then run `<fqdn>.yml`, `<hostname>.yml` or
//! `local.yml` (or the playbook named) against this machine, with the local connection. git is
//! the git command (the tool every such host has), not a library of ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser as _;

use super::{Cli, Error, PullArgs};
use crate::exec::exit;

/// Run git in `dir` (or nowhere in particular), failing with its own words.
fn git(dir: Option<&Path>, args: &[&str]) -> Result<String, Error> {
    let mut c = Command::new("git");
    if let Some(d) = dir {
        c.arg("-C").arg(d);
    }
    let out = c.args(args).output().map_err(|e| Error::command(format!("cannot run git: {e} (steward pull needs git on this host)")))?;
    if !out.status.success() {
        return Err(Error::command(format!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// This machine's short and fully qualified names, as ansible-pull looks for their playbooks.
fn host_names() -> (String, String) {
    let short = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| Command::new("hostname").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()))
        .unwrap_or_default()
        .trim()
        .to_string();
    let fqdn = Command::new("hostname")
        .arg("-f")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| short.clone());
    (short.split('.').next().unwrap_or_default().to_string(), fqdn)
}

/// Clone the repository, or bring the clone up to date; says whether what is checked out moved.
fn update(a: &PullArgs, dest: &Path) -> Result<bool, Error> {
    let depth: &[&str] = if a.full { &[] } else { &["--depth", "1"] };
    let fresh = !dest.join(".git").exists();
    let before = if fresh {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::command(format!("cannot create {}: {e}", parent.display())))?;
        }
        let target = dest.to_string_lossy();
        let mut args = vec!["clone", "--quiet"];
        args.extend_from_slice(depth);
        args.extend([a.url.as_str(), &target]);
        git(None, &args)?;
        None
    } else {
        Some(git(Some(dest), &["rev-parse", "HEAD"])?)
    };
    // The version asked for (a branch, tag or commit), else the remote's default branch.
    let want = a.checkout.as_deref().unwrap_or("HEAD");
    if !fresh || a.checkout.is_some() {
        let mut args = vec!["fetch", "--quiet", "--tags", "--force"];
        args.extend_from_slice(depth);
        args.extend(["origin", want]);
        git(Some(dest), &args)?;
        git(Some(dest), &["checkout", "--quiet", "--force", "FETCH_HEAD"])?;
    }
    let after = git(Some(dest), &["rev-parse", "HEAD"])?;
    Ok(before.is_none_or(|b| b != after))
}

pub fn run(a: PullArgs) -> Result<i32, Error> {
    let (short, fqdn) = host_names();
    let dest = match &a.directory {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            PathBuf::from(home).join(".ansible/pull").join(&short)
        }
    };
    let changed = update(&a, &dest)?;
    if a.only_if_changed && !changed {
        println!("Repository has not changed, quitting.");
        return Ok(exit::OK);
    }
    let candidates: Vec<String> = match &a.playbook {
        Some(p) => vec![p.clone()],
        None => vec![format!("{fqdn}.yml"), format!("{short}.yml"), "local.yml".into()],
    };
    let Some(playbook) = candidates.iter().map(|c| dest.join(c)).find(|p| p.is_file()) else {
        return Err(Error::command(format!("no playbook to run in {}: looked for {}", dest.display(), candidates.join(", "))));
    };
    // The run, as `steward run` would take it: this machine, by the local connection.
    let mut argv: Vec<String> = vec!["steward".into(), "run".into(), playbook.display().to_string()];
    // As ansible-pull: localhost unless an inventory is given, and a limit to this machine's names.
    let inventory = if a.inventory.is_empty() { vec!["localhost,".to_string()] } else { a.inventory.clone() };
    for i in inventory {
        argv.extend(["-i".into(), i]);
    }
    let limit = a.limit.clone().unwrap_or_else(|| format!("localhost,{fqdn},{short},127.0.0.1"));
    argv.extend(["-c".into(), "local".into(), "-l".into(), limit]);
    for (flag, values) in
        [("-e", &a.extra_vars), ("-t", &a.tags), ("--skip-tags", &a.skip_tags), ("--vault-password-file", &a.vault_password_file)]
    {
        for v in values {
            argv.extend([flag.into(), v.clone()]);
        }
    }
    for (flag, on) in [("--check", a.check), ("--diff", a.diff)] {
        if on {
            argv.push(flag.into());
        }
    }
    if a.verbose > 0 {
        argv.push(format!("-{}", "v".repeat(a.verbose as usize)));
    }
    let cli = Cli::try_parse_from(&argv).map_err(|e| Error::command(format!("steward pull: {e}")))?;
    match cli.command {
        super::Command::Run(r) => super::run::run(*r),
        _ => Err(Error::command("steward pull: not a run")),
    }
}
