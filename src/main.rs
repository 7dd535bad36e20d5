//! The `lmnop` command: parses the command line and hands over to the library.

use std::process::ExitCode;

// The router and the git streams allocate and free small buffers per request; mimalloc's
// thread-local free lists cost less than glibc's arenas there (see bench/deploy B4).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lmnop::cli::main()
}
