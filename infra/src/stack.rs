//! Starting the whole local stack in-process: emulator, tables, seed, HTTP server.

use anyhow::Context;
use api::AppState;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use store::Store;

use crate::emulator::Emulator;
use crate::meter::CallMeter;
use crate::provision::{create_tables, Template};
use crate::{gateway, seed, template_path, token};

pub struct StackOptions {
    /// HTTP port of the API (0: any free port).
    pub port: u16,
    /// Port for the emulator when we start it (0: any free port).
    pub emulator_port: u16,
    pub seed: bool,
    /// Records every DynamoDB call the API makes (benchmarks).
    pub meter: Option<CallMeter>,
}

pub struct Stack {
    pub url: String,
    pub sdk: SdkConfig,
    pub store: Store,
    pub emulator: Emulator,
}

/// SDK configuration pointing at the emulator, with the emulator's dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "local-stack"))
        .load()
        .await
}

impl Stack {
    pub async fn start(opts: StackOptions) -> anyhow::Result<Self> {
        let emulator = Emulator::start(opts.emulator_port)?;
        let sdk = sdk_config(&emulator.endpoint).await;
        let mut dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(meter) = opts.meter {
            dynamodb_config = dynamodb_config.interceptor(meter);
        }
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb_config.build());
        let template = Template::load(&template_path())?;
        let tables = create_tables(&dynamodb, &template).await?;
        let table = tables.first().context("template.yaml declares no DynamoDB table")?.clone();
        let store = Store::new(dynamodb, table);
        if opts.seed {
            seed::seed_demo(&store).await.context("seeding the demo data")?;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{}", opts.port))?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = gateway::app(AppState::new(store.clone()), token::secret());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        Ok(Self { url, sdk, store, emulator })
    }
}
