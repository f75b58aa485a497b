package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
	"golang.org/x/term"
)

// DoctorCmd is `av doctor`: it reads the machine as it is, changes nothing, and reports
// every plaintext credential, what each client reads, and av's own state, each finding
// with its fix.
type DoctorCmd struct {
	JSON bool `name:"json" help:"Print the report as JSON, for scripts (never a secret's value either)."`
	runtimeDirFlag
}

// Help is shown by av doctor --help.
func (cmd *DoctorCmd) Help() string {
	return `Finds every registry and AWS credential kept in plain text on this machine, what each
client reads, and whether av's vault and runtime directory work; changes nothing. Exit
status 1 when something needs attention.`
}

// Examples end av doctor --help.
func (cmd *DoctorCmd) Examples() []string {
	return []string{
		"av doctor                                 # what to fix, and how; exit status 1 if anything",
		"av doctor --json | jq '.findings[].fix'",
		"av doctor && echo 'no plaintext credentials here'",
	}
}

// Run prints the report. It ends av with status 1, and no error line, when something
// needs attention: the report says what.
func (cmd *DoctorCmd) Run(catch *runner.Catch) error {
	catch.Stop() // no child: signals do what they would do to any program
	if p := os.Getenv(env.MarkerVar); p != "" {
		// DOCKER_CONFIG, REGISTRY_AUTH_FILE and HELM_REGISTRY_CONFIG name av's throwaway
		// files here, and the user's own are nowhere in the environment.
		return hinted{
			fmt.Errorf("av doctor inside av (profile %q) would look at av's throwaway files, not yours", p),
			"run it outside av: leave that shell or command first",
		}
	}
	home := os.Getenv("HOME")
	d := diagnose(doctorFacts{
		Checkup:    env.Check(env.CheckupOptions{}),
		Vault:      profiles.CheckVault(profiles.VaultOptionsFromEnv()),
		RuntimeDir: env.CheckBase(cmd.RuntimeDir),
	}, home)
	if cmd.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else {
		d.print(os.Stdout, home, colourful(os.Stdout))
	}
	if len(d.Findings) > 0 {
		return quiet{fmt.Errorf("av doctor: %d finding(s)", len(d.Findings))}
	}
	return nil
}

// doctorFacts are what the packages found.
type doctorFacts struct {
	Checkup    env.Checkup
	Vault      profiles.VaultCheck
	RuntimeDir env.BaseCheck
}

// diagnosis is av doctor's report: the facts, and the findings worded with their fixes.
// It is also the --json document.
type diagnosis struct {
	Attention  bool                 `json:"attention"` // some finding needs attention: exit status 1
	Findings   []finding            `json:"findings"`
	Places     []placeReport        `json:"places"`
	Clients    []env.ClientRead     `json:"clients"`
	Startup    []env.StartupSetting `json:"startup_files"`
	Vault      vaultReport          `json:"vault"`
	RuntimeDir runtimeDirReport     `json:"runtime_dir"`
	Leftovers  []env.Leftover       `json:"leftovers"`
}

// finding is one thing that needs attention, and what to do about it.
type finding struct {
	Kind    string `json:"kind"`
	Path    string `json:"path,omitempty"` // the file or variable it is about
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

type placeReport struct {
	env.Place
	Error string `json:"error,omitempty"`
}

type vaultReport struct {
	profiles.VaultCheck
	Error string `json:"error,omitempty"`
}

type runtimeDirReport struct {
	env.BaseCheck
	Error string `json:"error,omitempty"`
}

// diagnose turns the facts into findings.
func diagnose(f doctorFacts, home string) diagnosis {
	d := diagnosis{
		Findings: []finding{}, Clients: f.Checkup.Clients, Startup: f.Checkup.Startup,
		Vault: vaultReport{VaultCheck: f.Vault}, RuntimeDir: runtimeDirReport{BaseCheck: f.RuntimeDir},
		Leftovers: []env.Leftover{},
	}
	add := func(kind, path, problem, fix string) {
		d.Findings = append(d.Findings, finding{Kind: kind, Path: path, Problem: problem, Fix: fix})
	}
	for _, p := range f.Checkup.Places {
		d.Places = append(d.Places, placeReport{Place: p, Error: errorText(p.Err)})
		for _, fd := range placeFindings(p, f.Vault, home) {
			add(fd.Kind, p.Path, fd.Problem, fd.Fix)
		}
	}
	for _, s := range f.Checkup.Startup {
		add("startup-file", s.Path, startupProblem(s, home, "in a shell av starts (`av PROFILE`)"), startupFix(s))
	}
	switch v := f.Vault; v.Opens {
	case profiles.VaultFails:
		d.Vault.Error = errorText(v.Err)
		add("vault", v.Where, "av cannot open the vault: "+v.Err.Error(), vaultFix(v))
	case profiles.VaultCannotStore:
		d.Vault.Error = errorText(v.Err)
		add("vault", v.Where, "av cannot store keys in the vault: "+v.Err.Error(), vaultFix(v))
	}
	if rd := f.RuntimeDir; rd.Err != nil {
		d.RuntimeDir.Error = errorText(rd.Err)
		fix := hintOr(rd.Err, "set AV_RUNTIME_DIR (or --runtime-dir) to a directory only you can read, mode 0700")
		add("runtime-dir", rd.Path, "av would refuse to run: "+rd.Err.Error(), fix)
	} else if rd.Path != "" && rd.Exists {
		d.Leftovers = env.Leftovers(rd.Path)
	}
	if n := len(d.Leftovers); n > 0 {
		unknown := 0
		for _, l := range d.Leftovers {
			if l.Unknown {
				unknown++
			}
		}
		problem := fmt.Sprintf("%s left by av runs that were killed, in %s", plural(n, "directory", "directories"), tilde(f.RuntimeDir.Path, home))
		if unknown > 0 {
			problem += fmt.Sprintf(" (%d cannot be opened, so may still be in use)", unknown)
		}
		add("leftovers", f.RuntimeDir.Path, problem, "the next av run shreds and removes "+them(n)+" (`av PROFILE -- true`); av doctor changes nothing")
	}
	d.Attention = len(d.Findings) > 0
	return d
}

// placeFindings words what needs attention in one place.
func placeFindings(p env.Place, vault profiles.VaultCheck, home string) []finding {
	var out []finding
	path := tilde(p.Path, home)
	if p.Err != nil {
		fix := "check the file, or remove it"
		switch p.Kind {
		case env.PlaceDocker, env.PlaceContainersAuth, env.PlaceHelm:
			fix = "av refuses to run while it cannot read this file: fix it, or move it away"
		case env.PlaceECRHelperCache:
			fix = "delete it: the ECR credential helper makes a new one when it needs it"
		}
		out = append(out, finding{Kind: "unreadable", Problem: fmt.Sprintf("%s cannot be read: %s", path, errorText(p.Err)), Fix: fix})
	}
	var expired, live, other []env.Secret
	var keys, sessions []string
	for _, s := range p.Secrets {
		switch {
		case s.Kind == env.SecretAWSKey:
			keys = append(keys, s.Host)
		case s.Kind == env.SecretAWSSession:
			sessions = append(sessions, s.Host)
		case s.ECR && s.Expired:
			expired = append(expired, s)
		case s.ECR:
			live = append(live, s)
		default:
			other = append(other, s)
		}
	}
	if p.Kind == env.PlaceECRHelperCache && len(p.Secrets) > 0 {
		problem := fmt.Sprintf("the ECR credential helper's cache %s holds %s in plain text", path, plural(len(p.Secrets), "ECR token", "ECR tokens"))
		if len(expired) > 0 {
			problem += fmt.Sprintf(" (%d expired)", len(expired))
		}
		return append(out, finding{Kind: "ecr-helper-cache", Problem: problem + ": " + hostList(p.Secrets),
			Fix: fmt.Sprintf("delete %s; if you keep using docker-credential-ecr-login, set AWS_ECR_DISABLE_CACHE=1 so it stops writing tokens there, or let av log in per command instead", path)})
	}
	if len(keys) > 0 {
		var adds, have []string
		for _, k := range keys {
			adds = append(adds, "`av add "+shellWord(k)+"`")
			if slices.Contains(vault.Profiles, k) {
				have = append(have, safe(k))
			}
		}
		fix := fmt.Sprintf("move these keys into the vault with %s, then delete %s", strings.Join(adds, ", "), path)
		if len(have) > 0 {
			fix += fmt.Sprintf(" (the vault already holds keys for %s: keep the ones that work)", strings.Join(have, ", "))
		}
		out = append(out, finding{Kind: "aws-keys", Problem: fmt.Sprintf("%s holds AWS keys in plain text for %s: %s", path, plural(len(keys), "profile", "profiles"), safeList(keys)), Fix: fix})
	}
	if len(sessions) > 0 {
		out = append(out, finding{Kind: "aws-sessions", Problem: fmt.Sprintf("%s holds temporary AWS keys (with a session token) in plain text for %s: %s", path, plural(len(sessions), "profile", "profiles"), safeList(sessions)),
			Fix: fmt.Sprintf("delete those sections from %s: av and aws-vault keep sessions in the vault", path)})
	}
	if len(expired) > 0 {
		out = append(out, finding{Kind: "expired-ecr-tokens", Problem: fmt.Sprintf("%s in %s %s expired: %s", plural(len(expired), "ECR entry", "ECR entries"), path, isAre(len(expired)), hostList(expired)),
			Fix: "remove " + them(len(expired)) + logout(p, expired, home) + ", av logs in per command"})
	}
	if len(live) > 0 {
		out = append(out, finding{Kind: "ecr-tokens", Problem: fmt.Sprintf("%s holds %s in plain text, readable by anything running as you: %s", where(p, path), plural(len(live), "live ECR token", "live ECR tokens"), hostList(live)),
			Fix: "remove " + them(len(live)) + logout(p, live, home) + ", av logs in per command and keeps no token in plain text"})
	}
	if len(other) > 0 {
		out = append(out, finding{Kind: "plaintext-logins", Problem: fmt.Sprintf("%s holds %s in plain text: %s", where(p, path), plural(len(other), "registry secret", "registry secrets"), hostList(other)),
			Fix: plainLoginFix(p, other, home, them(len(other)))})
	}
	return storeFirst(p, out, helperFindings(p, path))
}

// storeFirst orders a place's findings so that each fix works when its turn comes. While
// the file's credsStore names a helper that is not installed, no logout can remove an
// entry: `docker logout HOST` asks the missing helper to erase it, prints "Removing login
// credentials" all the same, exits 0 and leaves the entry (helm's logout fails). So the
// store's finding comes first, and every fix that logs out says it waits for that one.
func storeFirst(p env.Place, secrets, helpers []finding) []finding {
	if storeFixFirst(p) == "" {
		return append(secrets, helpers...)
	}
	for i, f := range secrets {
		if strings.Contains(f.Fix, " logout ") {
			secrets[i].Fix += fmt.Sprintf("; first fix \"credsStore\" (above): until docker-credential-%s runs, a logout leaves the entry where it is", safe(p.Store.Name))
		}
	}
	return append(helpers, secrets...)
}

// helperFindings are the credential helpers a config names that cannot run.
func helperFindings(p env.Place, path string) []finding {
	var out []finding
	// containers/image (skopeo, podman) ignores credsStore.
	if s := p.Store; s != nil && !s.Installed && p.Kind != env.PlaceContainersAuth {
		who := "crane, oras and helm fail for every registry (docker falls back to \"auths\")"
		if p.Kind == env.PlaceHelm {
			who = "helm fails for every registry"
		}
		out = append(out, finding{Kind: "missing-helper",
			Problem: fmt.Sprintf("%s sets \"credsStore\": %s, and docker-credential-%s is not installed: %s", where(p, path), strconv.Quote(s.Name), safe(s.Name), who),
			Fix:     fmt.Sprintf("install docker-credential-%s, or remove \"credsStore\" from %s%s", safe(s.Name), where(p, path), storeFixFirst(p))})
	}
	missing := map[string][]string{}
	var names, empty []string
	for _, h := range p.Helpers {
		switch {
		case h.Name == "":
			empty = append(empty, h.Host)
		case !h.Installed:
			if _, seen := missing[h.Name]; !seen {
				names = append(names, h.Name)
			}
			missing[h.Name] = append(missing[h.Name], h.Host)
		}
	}
	for _, n := range names {
		out = append(out, finding{Kind: "missing-helper",
			Problem: fmt.Sprintf("\"credHelpers\" in %s sends %s to docker-credential-%s, which is not installed: every client fails for them", where(p, path), safeList(missing[n]), safe(n)),
			Fix:     fmt.Sprintf("install docker-credential-%s, or remove those entries from \"credHelpers\"", safe(n))})
	}
	if len(empty) > 0 {
		out = append(out, finding{Kind: "empty-helper",
			Problem: fmt.Sprintf("\"credHelpers\" in %s has an empty helper for %s: skopeo and podman run `docker-credential-` for them and fail", where(p, path), safeList(empty)),
			Fix:     "remove those entries: without them docker reads \"auths\" for those registries all the same (unless a \"credsStore\" is set)"})
	}
	return out
}

// storeFixFirst says, for a missing store whose file holds logins, that its fix comes
// before theirs (storeFirst).
func storeFixFirst(p env.Place) string {
	if p.Store == nil || p.Store.Installed || len(p.Secrets) == 0 {
		return ""
	}
	switch p.Kind {
	case env.PlaceDocker:
		return "; do this first: until then `docker logout` cannot remove this file's logins (it says it does)"
	case env.PlaceHelm:
		return "; do this first: until then `helm registry logout` cannot remove this file's logins"
	}
	return ""
}

// where names a place in a sentence.
func where(p env.Place, path string) string {
	if p.Kind == env.PlaceDockerAuthEnv {
		return "DOCKER_AUTH_CONFIG in your environment"
	}
	return path
}

// logout is how to remove these logins from the place, as ": `command`" or "".
func logout(p env.Place, secrets []env.Secret, home string) string {
	var cmds []string
	for _, h := range hosts(secrets) {
		word := shellWord(h)
		switch p.Kind {
		case env.PlaceDocker:
			cmds = append(cmds, "docker logout "+word)
		case env.PlaceContainersAuth:
			cmds = append(cmds, "podman logout --authfile "+shellWord(p.Path)+" "+word)
		case env.PlaceHelm:
			cmds = append(cmds, "helm registry logout "+word)
		}
	}
	switch {
	case p.Kind == env.PlaceDockerLegacy:
		return " (delete " + tilde(p.Path, home) + ": only old clients read it)"
	case p.Kind == env.PlaceDockerAuthEnv:
		return " (unset DOCKER_AUTH_CONFIG, and remove it where it is set: your shell's start-up files, a CI job's variables)"
	case len(cmds) == 0:
		return ""
	case len(cmds) > 3:
		return fmt.Sprintf(" (`%s`, and so on for the %d others)", cmds[0], len(cmds)-1)
	}
	return " (`" + strings.Join(cmds, "`, `") + "`)"
}

// plainLoginFix is how to keep other registries' logins out of plain text.
func plainLoginFix(p env.Place, secrets []env.Secret, home, them string) string {
	switch p.Kind {
	case env.PlaceDocker, env.PlaceHelm:
		return "keep " + them + " in a credential store: set \"credsStore\" to pass or secretservice in the docker config (docker-credential-pass or -secretservice installed), log out" + logout(p, secrets, home) + " and log in again"
	case env.PlaceContainersAuth:
		return "log out" + logout(p, secrets, home) + ", and keep " + them + " in a credential helper (\"credHelpers\" in the file) before logging in again"
	}
	return "remove " + them + logout(p, secrets, home)
}

func startupProblem(s env.StartupSetting, home, where string) string {
	what := "points the clients back at your own files, hiding av's logins"
	switch s.Var {
	case "DOCKER_AUTH_CONFIG":
		what = "hides av's logins from docker (and keeps logins in plain text in that file)"
	case "AWS_PROFILE":
		what = "makes the AWS SDKs use that profile instead of av's credentials, silently"
	}
	return fmt.Sprintf("%s line %d sets %s: %s, it %s", tilde(s.Path, home), s.Line, s.Var, where, what)
}

func startupFix(s env.StartupSetting) string {
	if strings.HasSuffix(s.Path, ".fish") {
		return fmt.Sprintf("set it only outside av: `if not set -q AV_PROFILE; set -gx %s …; end`", s.Var)
	}
	return fmt.Sprintf("set it only outside av: `[ -z \"$AV_PROFILE\" ] && export %s=…`", s.Var)
}

func vaultFix(v profiles.VaultCheck) string {
	fix := "check the vault's settings (AWS_VAULT_* variables)"
	if others := slices.DeleteFunc(slices.Clone(v.Working), func(b string) bool { return b == v.Backend }); len(others) > 0 {
		fix = fmt.Sprintf("set AWS_VAULT_BACKEND to one that works here (%s): AWS_VAULT_BACKEND=file keeps the vault in ~/.awsvault/keys, under a passphrase", strings.Join(others, ", "))
	}
	return hintOr(v.Err, fix)
}

// hintOr is withHint's fix for err, or fallback when it has none.
func hintOr(err error, fallback string) string {
	if h, ok := withHint(err).(hinted); ok && h.hint != "" {
		return h.hint
	}
	return fallback
}

// errorText is err for a person: a UserConfigError without its "your config PATH" (the
// sentence names the file) and an os error without its operation.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	var ue *env.UserConfigError
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

func hosts(secrets []env.Secret) []string {
	var out []string
	for _, s := range secrets {
		if !slices.Contains(out, s.Host) {
			out = append(out, s.Host)
		}
	}
	return out
}

// hostList names the secrets' hosts, with what each is and when an ECR token expires.
func hostList(secrets []env.Secret) string {
	var parts []string
	for _, s := range secrets {
		h := safe(s.Host)
		if s.Host == "" {
			h = "(no registry named)"
		}
		parts = append(parts, h+" ("+secretWhat(s)+")")
	}
	return shortList(parts)
}

func secretWhat(s env.Secret) string {
	what := map[env.SecretKind]string{
		env.SecretAuth: "auth", env.SecretPassword: "password", env.SecretIdentityToken: "identity token",
		env.SecretRegistryToken: "registry token", env.SecretECRToken: "ECR token",
	}[s.Kind]
	switch {
	case !s.ECR:
	case s.Expires == nil:
		what += ", unknown expiry"
	case s.Expired:
		what += ", expired " + s.Expires.Format(time.DateTime) + " UTC"
	default:
		what += ", valid until " + s.Expires.Format(time.DateTime) + " UTC"
	}
	return what
}

func safeList(names []string) string {
	var out []string
	for _, n := range names {
		out = append(out, safe(n))
	}
	return shortList(out)
}

// shortList joins at most 5 items, then says how many more.
func shortList(items []string) string {
	if len(items) > 5 {
		return strings.Join(items[:5], ", ") + fmt.Sprintf(" and %d more", len(items)-5)
	}
	return strings.Join(items, ", ")
}

// tilde writes a path under HOME as ~/…, as people write it.
func tilde(path, home string) string {
	if home != "" && home != "/" {
		if rest, ok := strings.CutPrefix(path, strings.TrimSuffix(home, "/")+"/"); ok {
			return safe("~/" + rest)
		}
	}
	return safe(path)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// colourful reports whether the report may be coloured: stdout is a terminal and NO_COLOR
// (no-color.org) is not set.
func colourful(f *os.File) bool {
	return os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd()))
}

// print writes the report for people.
func (d diagnosis) print(w io.Writer, home string, colour bool) {
	paint := func(code, s string) string {
		if !colour {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	bold := func(s string) string { return paint("1", s) }

	fmt.Fprintln(w, bold("Where credentials may sit"))
	width := 0
	for _, p := range d.Places {
		width = max(width, utf8.RuneCountInString(placeName(p.Place, home)))
	}
	for _, p := range d.Places {
		fmt.Fprintf(w, "  %-*s  %s\n", width, placeName(p.Place, home), placeSummary(p.Place, paint))
		for _, s := range p.Secrets {
			fmt.Fprintf(w, "  %-*s    %s: %s\n", width, "", safe(cmp.Or(s.Host, "-")), secretLine(s))
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, bold("What each client reads now, outside av"))
	for _, c := range d.Clients {
		fmt.Fprintf(w, "  %-13s  %s\n", c.Client, clientLine(c, home))
	}
	fmt.Fprintln(w, "  Under av, each reads av's throwaway files instead: av removes DOCKER_AUTH_CONFIG from the")
	fmt.Fprintln(w, "  command's environment and turns a credsStore into per-registry helpers, so neither hides av's logins.")

	fmt.Fprintln(w)
	fmt.Fprintln(w, bold("av"))
	fmt.Fprintf(w, "  %-12s  %s\n", "vault", vaultLine(d.Vault.VaultCheck, home))
	fmt.Fprintf(w, "  %-12s  %s\n", "runtime dir", runtimeDirLine(d.RuntimeDir.BaseCheck, home))
	left := "none"
	if n := len(d.Leftovers); n > 0 {
		left = paint("33", plural(n, "directory", "directories")+" of killed runs")
	}
	fmt.Fprintf(w, "  %-12s  %s\n", "leftovers", left)

	fmt.Fprintln(w)
	if len(d.Findings) == 0 {
		fmt.Fprintln(w, paint("32", "Nothing needs attention."))
		return
	}
	fmt.Fprintln(w, paint("31;1", plural(len(d.Findings), "thing needs", "things need")+" attention:"))
	for i, f := range d.Findings {
		fmt.Fprintf(w, "%2d. %s\n    fix: %s\n", i+1, f.Problem, f.Fix)
	}
}

func placeName(p env.Place, home string) string {
	if p.Kind == env.PlaceDockerAuthEnv {
		return "$" + p.Path
	}
	return tilde(p.Path, home)
}

func placeSummary(p env.Place, paint func(code, s string) string) string {
	switch {
	case p.Kind == env.PlaceDockerAuthEnv && !p.Exists:
		return "not set"
	case !p.Exists:
		return "not there"
	case p.Err != nil:
		return paint("31", "cannot be read: "+errorText(p.Err))
	}
	var parts []string
	if n := len(p.Secrets); n > 0 {
		parts = append(parts, paint("31", plural(n, "secret", "secrets")+" in plain text"))
	} else {
		parts = append(parts, "no secrets")
	}
	if s := p.Store; s != nil {
		parts = append(parts, "credsStore "+safe(s.Name)+installed(s.Installed, paint))
	}
	for _, h := range p.Helpers {
		parts = append(parts, "helper "+safe(cmp.Or(h.Name, "-"))+" for "+safe(h.Host)+installed(h.Installed, paint))
	}
	if p.Via != "" {
		parts = append(parts, "named by "+p.Via)
	}
	return strings.Join(parts, "; ")
}

func installed(ok bool, paint func(code, s string) string) string {
	if ok {
		return ""
	}
	return paint("31", " (not installed)")
}

func secretLine(s env.Secret) string {
	switch s.Kind {
	case env.SecretAWSKey:
		return "access key and secret key"
	case env.SecretAWSSession:
		return "temporary keys with a session token"
	}
	return secretWhat(s)
}

func clientLine(c env.ClientRead, home string) string {
	if c.DockerAuthConfig {
		return "DOCKER_AUTH_CONFIG (docker 28.3+ reads it before any file), then " + filesLine(c.Files, home)
	}
	line := filesLine(c.Files, home)
	if c.Store != "" {
		line += "; asks credsStore " + safe(c.Store) + " before its auths"
	}
	return line
}

func filesLine(files []env.FileRead, home string) string {
	var parts []string
	for _, f := range files {
		if f.Exists {
			parts = append(parts, tilde(f.Path, home))
		}
	}
	if len(parts) == 0 {
		if len(files) == 0 {
			return "no file: no credentials"
		}
		return "no file there yet (" + tilde(files[0].Path, home) + " first)"
	}
	return strings.Join(parts, ", then ")
}

func vaultLine(v profiles.VaultCheck, home string) string {
	how := "aws-vault's default here"
	if v.Chosen {
		how = "AWS_VAULT_BACKEND"
	}
	line := fmt.Sprintf("%s backend (%s)", v.Backend, how)
	if v.Where != "" {
		line += ", " + tilde(v.Where, home)
	}
	switch v.Opens {
	case profiles.VaultOpen:
		line += ": opens"
	case profiles.VaultEmpty:
		line += ": no vault yet (`av add PROFILE` makes one)"
	case profiles.VaultNeedsPassphrase:
		line += ": opens with its passphrase (asked for when av runs: " + profiles.PassphraseVar + " is not set)"
	case profiles.VaultFails:
		line += ": does not open"
	case profiles.VaultCannotStore:
		line += ": opens, but cannot store keys"
	}
	if v.Listed && v.Opens != profiles.VaultEmpty {
		line += "; keys for " + plural(len(v.Profiles), "profile", "profiles")
		if len(v.Profiles) > 0 {
			line += ": " + safeList(v.Profiles)
		}
	}
	if len(v.Working) > 0 {
		// Those that open: keyctl, say, is available on Linux but never opens.
		line += "; backends here: " + strings.Join(v.Working, ", ")
	}
	return line
}

func runtimeDirLine(rd env.BaseCheck, home string) string {
	if rd.Err != nil && rd.Path == "" {
		return "none: " + rd.Err.Error()
	}
	why := map[env.BaseSource]string{
		env.BaseOverride: "AV_RUNTIME_DIR or --runtime-dir",
		env.BaseXDG:      "in XDG_RUNTIME_DIR",
		env.BaseShm:      "XDG_RUNTIME_DIR is not set",
	}[rd.Source]
	line := fmt.Sprintf("%s (%s)", tilde(rd.Path, home), why)
	switch {
	case rd.Err != nil:
		return line + ": refused"
	case !rd.Exists:
		line += ": made when av first runs"
	default:
		line += ": private"
	}
	if rd.MemoryFS {
		return line + ", in memory (tmpfs)"
	}
	return line + ", on disk"
}
