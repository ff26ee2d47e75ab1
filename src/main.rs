//! The `articlebot` binary: everything happens in [`articlebot::cli`].

fn main() -> std::process::ExitCode {
    articlebot::cli::main()
}
