//! The `firecredit` binary: parse arguments, run the command, map errors to exit codes.

use clap::Parser;

fn main() {
    firecredit::memory::limit_arenas();
    let cli = firecredit::cli::Cli::parse();
    firecredit::cli::init_logging(cli.log.as_deref());
    let code = match firecredit::cli::run(cli) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err:#}");
            err.downcast_ref::<firecredit::Error>()
                .map_or(1, firecredit::Error::exit_code)
        }
    };
    std::process::exit(code);
}
