//! `sekisho`: the command line of the Sekisho gateway.

#![forbid(unsafe_code)]

mod audit;
mod guard;
mod keys;
mod policy;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sekisho",
    version,
    about = "Sekisho (関所): a self-hosted security gateway for generative-AI applications"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The audit trail: verify its signed chain, query who did what, tail it.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Guardrails: test one on a text, evaluate one on a labelled data set.
    #[command(subcommand)]
    Guard(guard::GuardCommand),
    /// Customer managed keys of a stopped gateway: list, create, rotate.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Work with IAM policy documents: validate, simulate.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Run the gateway (the embedded default without --config).
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(cmd) => audit::run(cmd),
        Command::Guard(cmd) => guard::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
