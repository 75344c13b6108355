//! Prints the API's OpenAPI document (`make web-types` writes it to web/openapi.json, from
//! which the web client's types are generated).

fn main() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(api::document())?);
    Ok(())
}
