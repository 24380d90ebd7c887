//! `sekisho policy validate`: being written.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Policy documents to check.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("policy validate is being written")
}
