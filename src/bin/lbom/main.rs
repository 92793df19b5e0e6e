//! The `lbom` command line.
fn main() {
    println!("lbom {}", lbom::TOOL_VERSION);
}
