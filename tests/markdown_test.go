package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The links between the repository's Markdown files. markdownlint (`make lint`) reads each
// file alone: its MD051 checks a #fragment against the file's own headings only, and
// nothing of it follows a link to another file. No maintained npm checker does this
// offline (markdown-link-check fetches every URL, and checks no fragment of another
// file), so this test does it: every relative link of every tracked *.md names a tracked
// file or directory, and a #fragment names a heading of the Markdown file it points to, as
// GitHub makes its anchors. Links with a scheme (https:, mailto:) are not followed.
func TestMarkdownLinks(t *testing.T) {
	out, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (git ls-files: %v): the links are checked against the tracked files", err)
	}
	tracked := map[string]bool{}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		tracked[f] = true
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			tracked[d+"/"] = true
		}
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(file string) map[string]bool {
		if a, ok := anchors[file]; ok {
			return a
		}
		data, err := os.ReadFile("../" + file)
		if err != nil {
			t.Fatal(err)
		}
		anchors[file] = markdownAnchors(data)
		return anchors[file]
	}
	checked := 0
	for file := range tracked {
		if !strings.HasSuffix(file, ".md") {
			continue
		}
		data, err := os.ReadFile("../" + file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownLinks(data) {
			target, fragment, _ := strings.Cut(l.target, "#")
			resolved := file
			if target != "" {
				resolved = path.Clean(path.Join(path.Dir(file), target))
				if !tracked[resolved] && !tracked[resolved+"/"] {
					t.Errorf("%s:%d: the link to %s names no tracked file or directory", file, l.line, l.target)
					continue
				}
			}
			if fragment != "" && strings.HasSuffix(resolved, ".md") && !anchorsOf(resolved)[fragment] {
				t.Errorf("%s:%d: the link to %s names no heading of %s", file, l.line, l.target, resolved)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no relative link found in any Markdown file: the link parser is broken")
	}
}

// mdLink is a link's target, and the line its text starts on.
type mdLink struct {
	target string
	line   int
}

var (
	// inline: [text](target "title"); text may run over lines, not hold brackets.
	inlineLink = regexp.MustCompile(`!?\[[^\[\]]*\]\(\s*<?([^()\s<>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// a reference definition: [label]: target
	refLink   = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	codeSpan  = regexp.MustCompile("(`+)[^`](?:.*?[^`])?(`+)")
	hasScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// markdownLinks lists the relative links of a Markdown document, outside code.
func markdownLinks(data []byte) []mdLink {
	text := markdownProse(data)
	var out []mdLink
	for _, re := range []*regexp.Regexp{inlineLink, refLink} {
		for _, m := range re.FindAllSubmatchIndex(text, -1) {
			target := string(text[m[2]:m[3]])
			if target == "" || hasScheme.MatchString(target) {
				continue
			}
			out = append(out, mdLink{target: target, line: 1 + bytes.Count(text[:m[0]], []byte("\n"))})
		}
	}
	return out
}

// markdownProse is data with its code blanked out (fenced blocks, code spans), line for
// line, so that positions keep their line numbers: a link-like text inside code is no link.
func markdownProse(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " \t")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				fence = ""
			}
			lines[i] = ""
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			n := len(trimmed) - len(strings.TrimLeft(trimmed, trimmed[:1]))
			fence = trimmed[:n]
			lines[i] = ""
		default:
			lines[i] = codeSpan.ReplaceAllStringFunc(l, func(s string) string { return strings.Repeat(" ", len(s)) })
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	setextLine    = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	htmlAnchor    = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	headingLink   = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	headingMarkup = regexp.MustCompile("[`*]|<[^>]+>")
)

// markdownAnchors are the anchors GitHub gives a document's headings (and its explicit
// <a name> or id anchors).
func markdownAnchors(data []byte) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	add := func(heading string) {
		s := headingSlug(heading)
		if n := seen[s]; n > 0 {
			anchors[s+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	lines := strings.Split(string(markdownProse(data)), "\n")
	raw := strings.Split(string(data), "\n")
	for i, l := range lines {
		for _, m := range htmlAnchor.FindAllStringSubmatch(l, -1) {
			anchors[m[1]] = true
		}
		if m := atxHeading.FindStringSubmatch(raw[i]); m != nil && l != "" {
			add(m[1])
			continue
		}
		if i > 0 && strings.TrimSpace(lines[i-1]) != "" && setextLine.MatchString(l) && !atxHeading.MatchString(raw[i-1]) &&
			(i < 2 || strings.TrimSpace(lines[i-2]) == "") {
			add(strings.TrimSpace(raw[i-1]))
		}
	}
	return anchors
}

// headingSlug is GitHub's anchor for a heading (github-slugger): the heading's text as
// rendered (no code marks, emphasis or link targets), in lower case, with every character
// but letters, digits, "-" and "_" dropped, and each space a "-".
func headingSlug(heading string) string {
	text := headingLink.ReplaceAllString(heading, "$1")
	text = headingMarkup.ReplaceAllString(text, "")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The anchors and links the test reads, on the forms the repository's files use.
func TestMarkdownParsing(t *testing.T) {
	for heading, want := range map[string]string{
		"`av_` keys in the AWS config file":                         "av_-keys-in-the-aws-config-file",
		"Managing the vault: `av add`, `av list`, `av remove`":      "managing-the-vault-av-add-av-list-av-remove",
		`Where the files live, and what "shred" means`:              "where-the-files-live-and-what-shred-means",
		"The credential endpoint: AWS credentials that outlive the": "the-credential-endpoint-aws-credentials-that-outlive-the",
		"See [the guide](../README.md) **now**":                     "see-the-guide-now",
	} {
		if got := headingSlug(heading); got != want {
			t.Errorf("headingSlug(%q) = %q, want %q", heading, got, want)
		}
	}
	doc := []byte("# Top\n\nSee [a\nlink](other.md#top \"title\") and `[code](not.md)`.\n\n" +
		"```sh\n[ -n x ](not-a-link.md)\n```\n\n[ref]: ./ref.md\n[web](https://example.com)\n\n## Top\n\nSetext\n======\n")
	var got []string
	for _, l := range markdownLinks(doc) {
		got = append(got, l.target+"@"+strconv.Itoa(l.line))
	}
	slices.Sort(got)
	if want := []string{"./ref.md@10", "other.md#top@3"}; !slices.Equal(got, want) {
		t.Errorf("markdownLinks = %q, want %q", got, want)
	}
	a := markdownAnchors(doc)
	for _, want := range []string{"top", "top-1", "setext"} {
		if !a[want] {
			t.Errorf("markdownAnchors lacks %q: %v", want, a)
		}
	}
}
