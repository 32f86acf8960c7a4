#![allow(clippy::unwrap_used)] // test helpers may panic
#[test]
fn scratch() {
    let src = std::fs::read_to_string(std::env::var("F").unwrap_or("/tmp/scratch.cbp".into())).unwrap();
    let p = cbp_syntax::parse("x.cbp", &src);
    if std::env::var("TREE").is_ok() { println!("{:#?}", p.file); }
    for d in &p.diagnostics { println!("{} {:?} {} | {} | {:?}", d.code, &src[d.primary.span.range()], d.message, d.primary.message, d.help); }
}
