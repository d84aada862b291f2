//! `completions SHELL`: the shell completion script on stdout.

use std::io::Write;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Install, for example:
  banter completions bash > ~/.local/share/bash-completion/completions/banter
  banter completions zsh  > \"${fpath[1]}/_banter\"
  banter completions fish > ~/.config/fish/completions/banter.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Writes the script completing `command` (run as `name`) to stdout.
pub fn print(
    args: &CompletionsArgs,
    mut command: clap::Command,
    name: &str,
) -> std::io::Result<()> {
    // Generated into memory: the generator panics on a failed write.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    std::io::stdout().write_all(&script)
}
