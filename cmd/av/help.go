package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// av's --help. `av --help` fits on one screen (rootHelp): the forms, what each command is
// for, the flags people use most, and where the rest are. The run's every flag, with its
// forms and exit status in full, is `av exec --help` (the default command, named); each
// command's is `av COMMAND --help`; all of it is in cmd/av/README.md.

// runDetail is the run's detail, in `av exec --help`.
const runDetail = `Runs COMMAND with an AWS profile's credentials from the aws-vault keyring and a
throwaway Amazon ECR login for docker, buildx, crane, skopeo, podman, oras and helm.
The login lives in a private tmpfs directory that is shredded when COMMAND ends.

  av [flags] PROFILE -- COMMAND [ARGS...]   PROFILE is the profile, always
  av [flags] COMMAND [ARGS...]              if COMMAND names a profile in the AWS config
                                            file, it is the profile and the rest is the
                                            command; otherwise the profile is $AWS_PROFILE,
                                            else "default", and the whole line is the command
  av [flags] PROFILE                        runs $SHELL (else /bin/sh) with the credentials
                                            (from av's endpoint, renewed all day: --ecs-server),
                                            on a pty of its own when av has a terminal

The vault is aws-vault's: the same backends and AWS_VAULT_* variables. av caches its ECR
tokens there, beside aws-vault's sessions, and renews a running command's login before the
token expires.

EXIT STATUS: the command's own status; if a signal killed it, av dies of the same signal
(else exits 128+N). av's own failures: 1; usage errors: 80; 126 the command cannot be run;
127 the command was not found. Ctrl-C at av's own prompts: av dies of SIGINT (130).`

// runUsage is the run's usage line: kong would show the hidden default command as
// "<command>".
const runUsage = "Usage: av [flags] [PROFILE [--]] [COMMAND [ARGS...]]"

// help prints av's help: rootHelp for av --help; else kong's, after av's usage line for
// the run (av exec --help), and then the command's examples (helpExamples).
func help(options kong.HelpOptions, ctx *kong.Context) error {
	sel := ctx.Selected()
	if sel == nil {
		return rootHelp(ctx.Stdout, ctx.Model)
	}
	if sel.Hidden {
		fmt.Fprintln(ctx.Stdout, runUsage)
		options.NoAppSummary = true
	}
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	return printExamples(ctx.Stdout, helpExamples(ctx))
}

// runHelp is the help of each flag (and the positional) of the run's part of the command
// line (runLine: av's own flags, ExecCmd's and vaultFlags'), by name: kept here, not in
// the fields' help tags, because every run builds kong's model of that part (newParser)
// and never prints a help, and kong parses and interpolates every tag's text as it builds:
// about 0.2 ms of a warm run's CPU (issue 22). newParser sets them on the whole command
// line's model, which is the one that prints help; there each applies to every command's
// flag of that name (vaultFlags' are also add's, list's and the others'). Every flag of
// runLine has one, and each names a flag (TestRunHelpNamesEveryRunFlag).
var runHelp = map[string]string{
	"debug":             "Print each step to stderr (names, never secret values).",
	"version":           "Print the version and exit.",
	"runtime-dir":       "Private directory (mode 0700) for the throwaway files. Default on Linux: XDG_RUNTIME_DIR/av (XDG_RUNTIME_DIR must then be a private tmpfs), or /dev/shm/av-UID when XDG_RUNTIME_DIR is unset; macOS has no tmpfs and needs one named (a RAM disk).",
	"lock-timeout":      "How long to wait for another av that is fetching the same session or tokens (waiting for STS, a helper or its MFA code), or writing to the vault, before giving up.",
	"region":            "AWS region for the credentials and the ECR token, instead of the profile's.",
	"duration":          "Length of the STS session (GetSessionToken or AssumeRole), as aws-vault exec --duration. Default: the profile's duration_seconds, else 1h.",
	"no-session":        "Use the vault's master credentials without a GetSessionToken session, as aws-vault exec --no-session.",
	"mfa-token":         "The MFA code, for a profile that needs one, instead of a prompt (as aws-vault exec --mfa-token).",
	"registry":          "Also log in to this registry: an ECR host, public.ecr.aws, or a region; =PROFILE mints it with another profile. Repeatable; adds to av_registries in the profile.",
	"min-ttl":           "Use a cached ECR token only if it has more than this left, and renew a running command's token this long before it expires.",
	"aws-timeout":       "How long one AWS call (STS, ECR, SSO) may take before av gives up, its retries included; each attempt gets an equal share (the SDK tries 3 times, or AWS_MAX_ATTEMPTS).",
	"nest":              "Allow av to run inside another av's child.",
	"pty":               "Run COMMAND on a new pseudo-terminal, as the shell runs when there is no COMMAND (for programs that need to own a terminal).",
	"grace":             "How long COMMAND has to exit after av passes SIGTERM on before av kills it with SIGKILL (0: never).",
	"ambient":           "Take the credentials from the job's own AWS identity, as the AWS SDKs find it (keys in the environment, a web identity, container or instance credentials), never from the vault: for CI. PROFILE then only names the run; its region and av_ settings in the config file still apply.",
	"role-arn":          "Assume this role with the job's web identity token: GitHub Actions' OIDC token (the job needs permissions: id-token: write), else AWS_WEB_IDENTITY_TOKEN_FILE's. Implies --ambient.",
	"role-session-name": "Name of the --role-arn session. Default: AWS_ROLE_SESSION_NAME, else one naming the CI run (av-gh-RUNID-ATTEMPT on GitHub Actions).",
	"registry-only":     "Give COMMAND the registry logins and AWS_REGION, and no AWS credentials at all, neither av's nor inherited ones (also av_registry_only = true in the profile).",
	"ecs-server":        "Serve the AWS credentials to COMMAND from a local endpoint (the ECS container-credentials format, as aws-vault exec --ecs-server), which renews them while COMMAND runs, instead of putting keys in its environment. Default: on for the shell (no COMMAND), off for a command; also av_ecs_server = true|false in the profile. Off with --registry-only.",
	"args":              "[PROFILE --] COMMAND [ARGS...]",
}

// withRunHelp gives the flags and positionals of app that have no help their runHelp.
func withRunHelp(app *kong.Application) {
	_ = kong.Visit(app, func(n kong.Visitable, next kong.Next) error {
		if v := valueOf(n); v != nil && v.Help == "" {
			v.Help = runHelp[v.Name]
		}
		return next(nil)
	})
}

// valueOf is the value of a flag or a positional, else nil.
func valueOf(n kong.Visitable) *kong.Value {
	switch n := n.(type) {
	case *kong.Flag:
		return n.Value
	case *kong.Value:
		return n
	}
	return nil
}

// runForms are the run's forms in av --help, each with what it does (continued on the
// next line when "" starts it).
var runForms = [][2]string{
	{"av [flags] PROFILE -- COMMAND [ARGS...]", ""},
	{"av [flags] COMMAND [ARGS...]", "if COMMAND names a profile in the AWS"},
	{"", "config, it is PROFILE; else $AWS_PROFILE"},
	{"av [flags] PROFILE", "a shell with the credentials"},
}

// mostUsedFlags are the flags av --help shows, the run's and av's own, each in a few words;
// the rest are in av exec --help.
var mostUsedFlags = [][2]string{
	{"registry", "also log in to this registry (repeatable)"},
	{"region", "the AWS region, instead of the profile's"},
	{"mfa-token", "the MFA code, instead of a prompt"},
	{"ambient", "in CI: the job's own AWS identity, no vault"},
	{"debug", "print each step on stderr (never a secret)"},
}

// rootHelp is av --help: one screen (TestRootHelpFitsOnAScreen). The commands and the
// flags' names come from kong's model, so that a command added or a flag renamed shows.
func rootHelp(w io.Writer, app *kong.Application) error {
	var b strings.Builder
	usage := []string{}
	for _, f := range runForms {
		usage = append(usage, f[0], f[1])
	}
	for _, c := range app.Children {
		if c.Type != kong.CommandNode || c.Hidden {
			continue
		}
		words := []string{"av", c.Name}
		for _, p := range c.Positional {
			if p.Required {
				words = append(words, strings.ToUpper(p.Name))
			} else {
				words = append(words, "["+strings.ToUpper(p.Name)+"]")
			}
		}
		usage = append(usage, strings.Join(words, " "), phrase(c.Help))
	}
	for i := 0; i < len(usage); i += 2 {
		lead := "       "
		if i == 0 {
			lead = "Usage: "
		}
		line := fmt.Sprintf("%s%-28s  %s", lead, usage[i], usage[i+1])
		fmt.Fprintln(&b, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(&b, "\n%s\nEvery flag, variable and exit status: av exec --help, and cmd/av/README.md.\n", app.Help)
	fmt.Fprintln(&b, "\nFlags (a command's own: av COMMAND --help):")
	for _, f := range mostUsedFlags {
		flag := findFlag(app, f[0])
		if flag == nil {
			return fmt.Errorf("av --help names --%s, which no command has", f[0])
		}
		fmt.Fprintf(&b, "  %-30s  %s\n", flagWords(flag), f[1])
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return printExamples(w, rootExamples)
}

// phrase is a command's help as a phrase, as the forms' are: "store …", not "Store ….".
func phrase(help string) string {
	help = strings.TrimSuffix(help, ".")
	if help == "" {
		return ""
	}
	return strings.ToLower(help[:1]) + help[1:]
}

// findFlag is the flag called name of av or of its run, nil if neither has it.
func findFlag(app *kong.Application, name string) *kong.Flag {
	nodes := []*kong.Node{app.Node}
	if app.DefaultCmd != nil {
		nodes = append(nodes, app.DefaultCmd)
	}
	for _, n := range nodes {
		for _, f := range n.Flags {
			if f.Name == name {
				return f
			}
		}
	}
	return nil
}

// flagWords is a flag as kong's help shows it: "-r, --registry=ENTRY[=PROFILE]".
func flagWords(f *kong.Flag) string {
	s := "    --" + f.Name
	if f.Short != 0 {
		s = fmt.Sprintf("-%c, --%s", f.Short, f.Name)
	}
	if !f.IsBool() {
		s += "=" + strings.TrimSuffix(f.FormatPlaceHolder(), ",...") // -r's: one ENTRY a flag
	}
	return s
}
