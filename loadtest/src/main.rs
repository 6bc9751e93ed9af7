fn main() {
    eprintln!("endcap-loadtest: not built yet (issue 4)");
    std::process::exit(2);
}
