//! Provider tokens at cold start: SecureString parameters read through the AWS Parameters
//! and Secrets Lambda Extension (a layer serving SSM on localhost), so that no token is in
//! a function's environment, where `GetFunctionConfiguration` shows it.

use std::time::Duration;

/// Where the extension listens (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, default 2773).
pub fn extension_endpoint() -> String {
    let port = std::env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT").unwrap_or_else(|_| "2773".into());
    format!("http://localhost:{port}")
}

/// The decrypted value of the SSM parameter `name`. Errors name the parameter, never a
/// value. `session_token` is the function's `AWS_SESSION_TOKEN`, which the extension
/// requires.
pub async fn read_parameter(
    http: &reqwest::Client,
    endpoint: &str,
    session_token: &str,
    name: &str,
) -> Result<String, String> {
    // Parameter names are `(/[a-zA-Z0-9_.-]+)+` (template.yaml): only the slashes need escaping.
    let url = format!(
        "{endpoint}/systemsmanager/parameters/get?name={}&withDecryption=true",
        name.replace('/', "%2F")
    );
    let failed = |why: String| format!("reading the SSM parameter {name}: {why}");
    let mut attempt = 0;
    let resp = loop {
        let sent = http
            .get(&url)
            .header("X-Aws-Parameters-Secrets-Token", session_token)
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        match sent {
            Ok(resp) => break resp,
            // The extension may still be starting on the first cold start.
            Err(_) if attempt < 2 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => return Err(failed(e.without_url().to_string())),
        }
    };
    let status = resp.status();
    if !status.is_success() {
        return Err(failed(format!("the extension answered {status}")));
    }
    let body: serde_json::Value = resp.json().await.map_err(|e| failed(e.without_url().to_string()))?;
    body.pointer("/Parameter/Value")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| failed("no value in the answer".into()))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A stand-in for the extension: answers one request with `status` and `body`, and
    /// hands back the request it received.
    async fn extension(
        status: &'static str,
        body: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let n = socket.read(&mut request).await.unwrap();
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        (endpoint, served)
    }

    #[tokio::test]
    async fn a_token_is_read_decrypted_with_the_functions_session_token() {
        let (endpoint, served) = extension(
            "200 OK",
            r#"{"Parameter":{"Name":"/p/sms-token","Type":"SecureString","Value":"s3cret"}}"#,
        )
        .await;
        let value = read_parameter(&reqwest::Client::new(), &endpoint, "session-1", "/p/sms-token").await;
        assert_eq!(value.as_deref(), Ok("s3cret"));
        let request = served.await.unwrap().to_lowercase();
        assert!(request
            .starts_with("get /systemsmanager/parameters/get?name=%2fp%2fsms-token&withdecryption=true "));
        assert!(request.contains("x-aws-parameters-secrets-token: session-1"));
    }

    #[tokio::test]
    async fn a_refusal_names_the_parameter() {
        let (endpoint, _served) = extension("400 Bad Request", r#"{"message":"not found"}"#).await;
        let err =
            read_parameter(&reqwest::Client::new(), &endpoint, "s", "/p/telegram-token").await.unwrap_err();
        assert!(err.contains("/p/telegram-token") && err.contains("400"), "{err}");
    }
}
