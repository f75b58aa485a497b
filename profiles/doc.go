// Package profiles turns a profile name into AWS credentials as aws-vault v7 does: the AWS
// config file, the encrypted vault (keyring), STS sessions, MFA and aws-vault's session
// cache. It is the only package that imports aws-vault and keyring.
//
// # Differences from aws-vault v7.2.0
//
// The chain of providers (credentials.go) is a port of aws-vault's
// vault.NewTempCredentialsProvider, so that its clients come from the SDK's config and av
// can put its own gates in it. TestChainIsAWSVaults (differential_test.go) builds both
// chains for the same config and vault and fails on any difference it does not name; it
// names the first five below. Each line: what av does; what aws-vault does; why.
//
//   - A role assumed without MFA (a role with no mfa_serial, or one assumed with its source's
//     MFA session) is cached, under the type "av.sts.AssumeRole" and keyed by the profile's
//     identity digest; aws-vault caches no such session and assumes the role on every run;
//     so that make -j8 assumes it once, and a changed role_arn is never served the old
//     role's session.
//   - With no terminal, or renewing while the command runs (CredentialsOptions.NoPrompt),
//     an SSO profile with no cached SSO token fails with SSOLoginError; aws-vault opens a
//     browser and waits for a person to approve; nobody is there to.
//   - A profile that names no region (one kept only in the vault, say) calls STS in
//     us-east-1; aws-vault builds its clients with no region, and the SDK refuses their
//     calls; STS answers in any region.
//   - The clients honour the SDK's endpoint settings (AWS_ENDPOINT_URL,
//     AWS_ENDPOINT_URL_<SERVICE>, the profile's endpoint_url and services section);
//     aws-vault's hand-built aws.Config ignores them; for LocalStack, VPC endpoints and the
//     tests' AWS stand-in.
//   - sts_regional_endpoints = legacy (and AWS_STS_REGIONAL_ENDPOINTS) is ignored: STS is
//     called at its regional endpoint; aws-vault sends the calls of 16 regions to
//     sts.amazonaws.com; the SDK's config has dropped the setting, and AWS recommends the
//     regional endpoints.
//   - The MFA prompt is av's ("av-terminal", prompt.go), on /dev/tty, ended by Ctrl-C;
//     aws-vault's "terminal" prompt reads in a raw mode that nothing interrupts.
//     AWS_VAULT_PROMPT's other methods are aws-vault's own.
//   - Renewing while the command runs, an MFA code is never asked for (ErrNeedsMFA) and a
//     --mfa-token code is not sent again (mfa_process still runs); aws-vault prompts
//     whenever a session needs a code; the command has the terminal, and AWS refuses a
//     code used once.
//   - Every AWS call is bounded (Options.AWSTimeout, TimeoutError), and a failed one names
//     its service and region; aws-vault's calls have the SDK's defaults, no deadline.
//   - The session cache is read holding the vault's lock shared, and a session fetched
//     holding it exclusive after looking again; aws-vault takes no lock, so N runs started
//     together each call STS (and each ask for an MFA code).
//   - A cached session that AWS rejects (a rotated key, a revoked session) is dropped and
//     the chain fetched again, once; aws-vault keeps serving it until it expires.
//   - A source_profile loop is an error; aws-vault's ConfigLoader recurses until the stack
//     runs out.
//   - A duration_seconds with a unit ("1h") is an error; aws-vault's ini reader panics.
//   - A missing config file is an empty config; aws-vault creates ~/.aws/config.
//   - Ambient credentials (OpenAmbient: keys in the environment, a CI job's web identity,
//     container or instance credentials) have no aws-vault counterpart.
//
// Known difference to come: credential_process, web_identity_token_process and
// mfa_process are run by aws-vault's code (vault.executeProcess and
// vault.ProcessMfaProvider: exec.Command, no context), while av holds the vault's lock
// exclusive; neither Ctrl-C nor Options.AWSTimeout ends them. A later change runs them
// under the run's context.
package profiles
