//! `iiswsgi msdeploy-options`: the `MSDeploy.MSDeployProviderOptions`
//! attribute in both directions, for debugging packages and for tests.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use iiswsgi_proto::msdeploy::{decode_blob, encode_blob, ProviderOptions};

#[derive(Debug, Clone, Args)]
pub struct MsdeployOptionsArgs {
    #[command(subcommand)]
    pub direction: Direction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Direction {
    /// Print the provider name, path and settings inside a blob.
    Decode {
        /// The attribute value (Base64).
        blob: String,
    },
    /// Print the blob msdeploy.exe would write for these options.
    Encode {
        #[arg(long, value_name = "NAME")]
        provider: String,
        #[arg(long, value_name = "PATH")]
        path: String,
        /// A provider setting, in order (repeat).
        #[arg(long = "setting", value_name = "NAME=VALUE", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
    },
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

pub fn run(args: MsdeployOptionsArgs) -> anyhow::Result<()> {
    match args.direction {
        Direction::Decode { blob } => {
            let options = decode_blob(&blob).context("Cannot decode the provider options")?;
            println!("providerName: {}", options.provider_name);
            println!("path: {}", options.path);
            let names: Vec<&str> = options.settings.iter().map(|(n, _)| n.as_str()).collect();
            let values: Vec<&str> = options.settings.iter().map(|(_, v)| v.as_str()).collect();
            println!("names: [{}]", names.join(", "));
            println!("values: [{}]", values.join(", "));
        }
        Direction::Encode { provider, path, settings } => {
            println!("{}", encode_blob(&ProviderOptions { provider_name: provider, path, settings }));
        }
    }
    Ok(())
}
