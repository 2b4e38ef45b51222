pub fn check(_text: &str) -> Result<(), Vec<String>> {
    Ok(())
}
