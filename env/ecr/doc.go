// Package ecr gets a run's registry logins: it reads the registries a run names
// (av_registries, --registry), mints their tokens from ECR and ECR Public with a profile's
// session, and keeps the tokens in the vault between runs (TokenCache), so that N runs
// started together mint once. It knows nothing of files: env writes the Logins it returns.
//
// # The token cache
//
// One vault item per profile identity: profiles.Profile.Identity, a digest of what decides
// the principal and where its tokens come from (the source_profile chain, role_arn,
// external_id, mfa_serial, SSO account and role, web identity, credential_process, session
// tags, --no-session, the STS and ECR endpoint settings), so a changed role_arn is never
// served the old role's tokens; the region and the session length are not part of it.
// Inside, one token per scope: ECR in a region (one token serves every account's registry
// there that the identity may use) or ECR Public. A token is used only while it has more
// than MinTTL left (--min-ttl); otherwise a new one is minted and replaces it.
//
// The item holds tokens only. Sessions are profiles' to cache, in aws-vault's own session
// cache, with one freshness rule and shared with aws-vault; master keys are never copied.
// (Items written before that held credentials too: they are ignored, and dropped at the
// next write.) The item is named as an aws-vault session is, av.ecr,PROFILE,IDENTITY,EXPIRY
// (TokenKind), so aws-vault treats it as one: `aws-vault list` shows it beside the
// profile's sessions, and clear, add, remove --sessions-only and rotate remove it with
// them. Any other name would be listed as a profile's master credentials.
//
// # Parallel runs
//
// TokenCache.Get reads the items holding the vault's lock (profiles.Vault, the
// TokenStore) shared. When a token is missing or has too little life left, it takes the
// fetch lock of the identity's item (TokenStore.LockFetch; several identities in the order
// of their keys), reads again (another run may have filled the item while this one
// waited), and only then gets sessions and mints what is still missing, holding no lock
// on the vault, and stores it holding the vault's lock exclusive. So N runs started
// together on a cold cache make one STS call and one ECR call per region and identity,
// and the others read what the first stored; a run of another identity never waits for
// them.
//
// # Every registry at once
//
// A cold run mints its registries' tokens concurrently (at most maxMints calls in
// flight), at the first run and at each renewal. Each identity's session is got once, one
// identity after another (one may ask for an MFA code), and its tokens are minted as soon
// as it is there: a run with five registries costs about one ECR round trip more than the
// STS call, as a run with one does (`make bench`: 1.01× against 2.83× when they were
// minted one after another). When several fail, MintError names every one in the order
// the run lists them, whatever order the calls ended in, so the message is the same from
// run to run; the tokens that were minted are stored all the same.
//
// # A stale session
//
// ECR may reject a cached session that has not expired (InvalidClientTokenId,
// UnrecognizedClientException, ExpiredToken: the key behind it was rotated, the session
// revoked, the endpoint that issued it restarted). Whether such a session is renewed, and
// how, is profiles' rule (profiles.Session.Renewal: a session that can expire and that AWS
// rejected; never master keys). The token cache renews it once per identity, however many
// of its mints failed, mints those tokens again concurrently with the new session, and
// reports what still fails per registry, in the run's order. A renewed session that is
// rejected in turn is AWS's answer, not a reason to renew again. Renewing a role's session
// assumes the role again with its source profile's cached session (an MFA session other
// profiles share is kept), as profiles.Profile.Credentials does with Renew.
//
// # Registry entries and partitions
//
// An entry is ENTRY[=PROFILE]: an ECR registry host, ECR Public (public.ecr.aws, or its
// dual-stack ecr-public.aws.com), or a region. Hosts are ACCOUNT.dkr.ecr.REGION.DOMAIN,
// FIPS dkr.ecr-fips and dual-stack dkr-ecr; like the ECR credential helper (ecr-login/api
// ExtractRegistry), either separator is taken with any domain, but the domain must be that
// of a partition that has REGION, so a host with a region under another partition's
// domain is an error, not a failed login. The partitions are the SDK's partition data
// (internal to the SDK, so copied here; TestPartitionsMatchSDK checks the copy against
// the SDK in go.mod), plus the helper's dual-stack domains, which the SDK's data lacks.
// The patterns are compiled on first use, not at start-up: every av run pays for package
// initialisation, and most parse no registry entry.
//
// A login's host is the one ECR names in proxyEndpoint, bare and in lower case, as the
// clients key their credentials (KeyHost); an endpoint outside docker's grammar for a
// host is refused rather than written into a file no client would look it up in. A token
// that is not base64 of user:password is refused too, and never quoted.
package ecr
