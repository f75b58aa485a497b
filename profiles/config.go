package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/aws-vault/v7/vault"
	ini "gopkg.in/ini.v1"
)

// Config is the user's AWS config file, read the way aws-vault reads it.
type Config struct {
	Path string
	file *vault.ConfigFile
	data []byte // the file as read: what both parsers parse

	parseOnce sync.Once
	parsed    *ini.File // data parsed for av's own keys and the endpoints; nil if it does not parse
}

// ConfigPath returns $AWS_CONFIG_FILE, else ~/.aws/config.
func ConfigPath() (string, error) {
	if p := awsFile(os.Getenv, "AWS_CONFIG_FILE", "config"); p != "" {
		return p, nil
	}
	return "", errors.New("finding the AWS config file: neither AWS_CONFIG_FILE nor HOME is set")
}

// SharedCredentialsFile is the AWS shared credentials file, as the SDKs find it from
// getenv: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; "" with neither that
// variable nor HOME set.
func SharedCredentialsFile(getenv func(string) string) string {
	return awsFile(getenv, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

// awsFile is one of the AWS shared files as the SDKs find it: the variable's value, else
// ~/.aws/NAME; "" with neither the variable nor HOME set.
func awsFile(getenv func(string) string, variable, name string) string {
	if p := getenv(variable); p != "" {
		return p
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".aws", name)
	}
	return ""
}

// loadINI parses an AWS config or shared credentials file as av reads both: nested values
// (an "s3 =" section's keys), keys in any case.
func loadINI(data []byte) (*ini.File, error) {
	return ini.LoadSources(ini.LoadOptions{AllowNestedValues: true, InsensitiveKeys: true}, data)
}

// StoredKeys is a profile of the shared credentials file that holds AWS keys in plain text.
type StoredKeys struct {
	Profile string
	Session bool // with a session token: temporary keys
}

// ReadStoredKeys lists the profiles of a shared credentials file's data (SharedCredentialsFile)
// that hold a secret key or a session token, in the file's order. Its error never quotes
// the file: a line of it may be a secret.
func ReadStoredKeys(data []byte) ([]StoredKeys, error) {
	f, err := loadINI(data)
	if err != nil {
		return nil, &SyntaxError{Line: iniErrorLine(data)}
	}
	var out []StoredKeys
	for _, s := range f.Sections() {
		secret := s.Key("aws_secret_access_key").String()
		session := s.Key("aws_session_token").String() + s.Key("aws_security_token").String()
		if session != "" || secret != "" {
			out = append(out, StoredKeys{Profile: s.Name(), Session: session != ""})
		}
	}
	return out, nil
}

// MaxConfigFile bounds the AWS config file, as env bounds the user's other configs: the
// largest seen hold a few thousand profiles, a megabyte or so.
const MaxConfigFile = 4 << 20

// LoadConfig reads the AWS config file. A missing file is an empty config: unlike
// vault.LoadConfigFromEnv, av never creates ~/.aws/config (a run must leave nothing behind).
// The file is read once, as a regular file of at most MaxConfigFile bytes, opened
// O_NONBLOCK (a FIFO would otherwise hold av in open(2), deaf to Ctrl-C and SIGTERM), and
// aws-vault's parser and av's are given those very bytes.
//
// A file that AWS_CONFIG_FILE names must be there (MissingConfigError): a typo, or a "~/…"
// that nothing expanded, would otherwise read as a config with no profiles, and fail later
// with words that hide the cause ("no region").
func LoadConfig() (*Config, error) {
	path, err := ConfigPath()
	if err != nil {
		return nil, err
	}
	data, err := readConfigFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if named := os.Getenv("AWS_CONFIG_FILE"); named != "" {
			return nil, &MissingConfigError{Path: path, Tilde: strings.HasPrefix(named, "~")}
		}
		data, err = nil, nil // ~/.aws/config need not exist
	}
	if err != nil {
		return nil, err
	}
	f, err := loadVaultConfig(data)
	if err != nil {
		// The parse error may quote a line of the file: the file and the line's number only.
		return nil, &SyntaxError{What: "the AWS config file", Path: path, Line: iniErrorLine(data)}
	}
	f.Path = path
	c := &Config{Path: path, file: f, data: data}
	if err := checkDurations(path, c.ini()); err != nil {
		return nil, err
	}
	return c, nil
}

// MissingConfigError says the AWS config file that AWS_CONFIG_FILE names is not there.
type MissingConfigError struct {
	Path string
	// Tilde says the name starts with a "~" that nothing expanded: an .env file, a quoted
	// "~/…", or a tool that sets variables without a shell keeps it as it is.
	Tilde bool
}

func (e *MissingConfigError) Error() string {
	if e.Tilde {
		return fmt.Sprintf("the AWS config file %s (AWS_CONFIG_FILE) does not exist: its ~ was not expanded to your home directory", e.Path)
	}
	return fmt.Sprintf("the AWS config file %s (AWS_CONFIG_FILE) does not exist", e.Path)
}

// SyntaxError says one of the user's files does not parse: which file, and the line where
// the parser stopped; never the line's text, which may hold a key.
type SyntaxError struct {
	What string // "the AWS config file"; "" where the caller names the file
	Path string
	Line int // 1-based; 0 if unknown
}

func (e *SyntaxError) Error() string {
	msg := "cannot be parsed"
	if e.What != "" || e.Path != "" {
		msg = strings.TrimSpace(e.What+" "+e.Path) + " " + msg
	}
	if e.Line > 0 {
		msg += fmt.Sprintf(" at line %d", e.Line)
	}
	return msg
}

// iniErrorLine is the line at which loadINI gives up on data, 0 if data parses. ini's
// errors quote the line and carry no number, so the number is found by parsing the file's
// first lines: the first N lines fail as the whole file does from the bad line on, and
// before it parse or fail otherwise (a binary search, on the error path only).
func iniErrorLine(data []byte) int {
	_, whole := loadINI(data)
	if whole == nil {
		return 0
	}
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return sort.Search(len(ends), func(i int) bool {
		_, err := loadINI(data[:ends[i]])
		return err != nil && err.Error() == whole.Error()
	}) + 1
}

// readConfigFile reads the config file at path; a missing one is fs.ErrNotExist.
func readConfigFile(path string) ([]byte, error) {
	data, err := ReadCapped(path, ReadOptions{Limit: MaxConfigFile})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case errors.Is(err, ErrNotRegular):
		return nil, fmt.Errorf("the AWS config file %s is not a regular file", path)
	case errors.Is(err, ErrTooLarge):
		return nil, fmt.Errorf("the AWS config file %s is larger than %d MiB", path, MaxConfigFile>>20)
	case err != nil:
		return nil, fmt.Errorf("reading the AWS config file %s: %w", path, err)
	}
	return data, nil
}

// loadVaultConfig parses data with aws-vault's own config reader, which reads only a file
// by its path (and creates any it cannot stat): it is given a pipe that holds data, by
// its /dev/fd name, so that what it parses is what av read and checked.
func loadVaultConfig(data []byte) (*vault.ConfigFile, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close() // after the parse: a writer still blocked then fails, and returns
	go func() {
		w.Write(data)
		w.Close()
	}()
	return vault.LoadConfig(fmt.Sprintf("/dev/fd/%d", r.Fd()))
}

// ini parses the file for av's own keys and the endpoint settings, once: a run reads them
// several times, and a config of a few hundred profiles takes about a millisecond.
func (c *Config) ini() *ini.File {
	c.parseOnce.Do(func() {
		f, err := loadINI(c.data)
		if err == nil {
			c.parsed = f
		}
	})
	return c.parsed
}

// checkDurations refuses a duration_seconds that is not a whole number of seconds, in any
// profile's section: aws-vault reads every profile's section to list the profiles, and ini,
// given a number with a unit ("900s", "1h") for that unsigned field, sets a time.Duration
// into it and panics. (The AWS CLI takes only a number of seconds, too.)
func checkDurations(path string, f *ini.File) error {
	if f == nil {
		return nil // vault.LoadConfig parsed it; av's own reads of it will find nothing
	}
	for _, s := range f.Sections() {
		name, isProfile := strings.CutPrefix(s.Name(), "profile ")
		if !isProfile && name != "default" {
			continue
		}
		k, err := s.GetKey("duration_seconds")
		if err != nil || k.String() == "" {
			continue
		}
		if _, err := strconv.ParseUint(k.String(), 10, 64); err != nil {
			return fmt.Errorf("the AWS config file %s: profile %q: duration_seconds is not a whole number of seconds", path, name)
		}
	}
	return nil
}

// sourceLoop returns the profiles a loop through source_profile goes round, starting at name,
// or nil. aws-vault's ConfigLoader would recurse through such a loop until the stack ran out
// (it resets its loop detection at each source profile), a crash av cannot catch.
func sourceLoop(c *Config, name string) []string {
	chain := []string{name}
	for p := sourceOf(c, name); p != ""; p = sourceOf(c, p) {
		chain = append(chain, p)
		if slices.Contains(chain[:len(chain)-1], p) {
			return chain
		}
	}
	return nil
}

// sourceOf is the source profile aws-vault's ConfigLoader gives a profile
// (populateFromConfigFile): the first source_profile along its section, then its
// include_profile's (and theirs), else [default]'s; none if that is the profile itself.
func sourceOf(c *Config, name string) string {
	seen := map[string]bool{}
	for p := name; !seen[p]; {
		seen[p] = true
		source, include, _ := c.links(p)
		switch {
		case source == name:
			return ""
		case source != "":
			return source
		case include != "":
			p = include
		case p != "default":
			p = "default"
		}
	}
	return "" // a loop through include_profile: aws-vault reports that one itself
}

// Has reports whether the config file has a section for the profile
// ([profile NAME], or [default] for "default").
func (c *Config) Has(name string) bool {
	_, _, ok := c.links(name)
	return ok
}

// links are the source_profile and include_profile of profile name's section as aws-vault's
// ProfileSection reads them, and whether there is such a section. They come from av's own
// parse of the same bytes, with the same options (loadINI), not from ProfileSection, which
// maps every one of its 22 keys by reflection at each call, a missing key an error made
// and dropped: Has and sourceOf took about 0.1 ms of a warm run that way (issue 22).
func (c *Config) links(name string) (source, include string, ok bool) {
	f := c.ini()
	if f == nil { // av's parse failed where aws-vault's did not (see checkDurations)
		s, ok := c.file.ProfileSection(name)
		return s.SourceProfile, s.IncludeProfile, ok
	}
	section := "profile " + name
	if name == "default" {
		section = "default"
	}
	sec, err := f.GetSection(section)
	if err != nil {
		return "", "", false
	}
	// GetKey, as ProfileSection's MapTo reads each key: it looks in a dotted section's
	// parent ([profile a] for [profile a.b]) for a key the section lacks.
	if k, err := sec.GetKey("source_profile"); err == nil {
		source = k.String()
	}
	if k, err := sec.GetKey("include_profile"); err == nil {
		include = k.String()
	}
	return source, include, true
}

// Names lists the profiles the config file defines, sorted.
func (c *Config) Names() []string {
	names := c.file.ProfileNames()
	sort.Strings(names)
	return names
}

// Closest is the profile the config file defines whose name is nearest to name (a typo),
// or "" if none is near.
func (c *Config) Closest(name string) string { return Closest(name, c.Names()) }

// Closest is the name of known nearest to name (a typo), or "" if none is near.
func Closest(name string, known []string) string { return closest(name, known) }

// profileConfig resolves a profile with its source_profile chain, include_profile and
// the environment, exactly as aws-vault exec does.
func (c *Config) profileConfig(name string, opts Options) (*vault.ProfileConfig, error) {
	base := vault.ProfileConfig{
		Region:                            opts.Region,
		MfaPromptMethod:                   mfaPromptMethod(),
		NonChainedGetSessionTokenDuration: opts.Duration,
		AssumeRoleDuration:                opts.Duration,
		MfaToken:                          opts.MFAToken,
	}
	if loop := sourceLoop(c, name); loop != nil {
		return nil, fmt.Errorf("loading profile %q from %s: source_profile goes round in a loop: %s", name, c.Path, strings.Join(loop, " → "))
	}
	pc, err := vault.NewConfigLoader(base, c.file, name).GetProfileConfig(name)
	if err != nil {
		return nil, fmt.Errorf("loading profile %q from %s: %w", name, c.Path, err)
	}
	return pc, nil
}
