//! `sekisho policy ...`

mod simulate;
mod validate;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check policy documents the way IAM Access Analyzer does: grammar,
    /// unknown actions and condition keys, risky grants.
    Validate(validate::Args),
    /// Decide a request against policies, or run a file of test cases.
    Simulate(Box<simulate::Args>),
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Validate(args) => validate::run(args),
        PolicyCommand::Simulate(args) => simulate::run(*args),
    }
}
