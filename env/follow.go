package env

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// FollowOptions say how a running command's registry files follow the user's own configs.
type FollowOptions struct {
	Files Files
	// Interval is how often the user's configs are looked at (a stat each); 0 means
	// FollowInterval.
	Interval time.Duration
	// ListStore lists a credential helper's registries; nil means the helper's list under
	// ctx, with no terminal.
	ListStore StoreLister
	// Warn reports the user's configs that changed but could not be merged, or files that
	// could not be written; once for each change of the user's files.
	Warn func(err error)
	// LookFirst looks once as Follow starts, before the first Interval: for a Follow that
	// its caller started an Interval late (cmd/av starts it on a timer).
	LookFirst bool
}

// FollowInterval is how often Follow looks at the user's configs by default: a stat of
// each, a few microseconds.
const FollowInterval = 2 * time.Second

// Follow keeps the registry files in step with the user's own configs until ctx ends: a
// `docker login`, `docker logout`, `helm registry login` or `podman login` made outside
// the run (another terminal), or an edit of those files, reaches the command within an
// Interval. When any of the user's configs changes (its inode, size or modification time:
// docker saves config.json by renaming a new file over it), or when a renewal asks (a
// store may hold a new login without config.json changing), Follow reads them again, lists
// their credential stores again, and merges what changed into the run's files (threeWay):
// the user's change wins, except where the command changed the same entry itself (its own
// `docker login`), whose value stays. A file that would not change is left as it is.
//
// A read of the user's files runs under ctx (a hung network filesystem does not hold the
// run's end), and a credential helper's list under its bound, with no terminal; the files
// are read with the caps of ReadUserConfig. Follow never holds the files' lock while it
// reads or lists, so a renewal never waits for a helper.
func Follow(ctx context.Context, o FollowOptions) {
	st := o.Files.state
	if st == nil {
		return
	}
	if o.Interval <= 0 {
		o.Interval = FollowInterval
	}
	if o.ListStore == nil {
		o.ListStore = runningLister(ctx)
	}
	if o.Warn == nil {
		o.Warn = func(err error) { log.Print(err) }
	}
	look := func(force bool) {
		if err := o.Files.follow(ctx, force, o.ListStore); err != nil && ctx.Err() == nil {
			o.Warn(err)
		}
	}
	if o.LookFirst {
		look(false)
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		force := false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-st.relist:
			force = true
		}
		look(force)
	}
}

// follow is one look at the user's configs: if they changed since they were last merged
// (or force), it reads them, lists their stores, and merges them into the run's files.
// An error is reported once: the stamps it was seen at count as merged, so the same
// broken file is read again only once it changes again.
func (f Files) follow(ctx context.Context, force bool, list StoreLister) error {
	st := f.state
	st.mu.Lock()
	where, last := st.user, st.stamps
	st.mu.Unlock()
	stamps, err := Interruptible(ctx, func() ([]fileStamp, error) { return stampUser(where), nil })
	if err != nil || (!force && slices.Equal(stamps, last)) {
		return nil
	}
	seen := func() {
		st.mu.Lock()
		st.stamps = stamps
		st.mu.Unlock()
	}
	user, err := Interruptible(ctx, func() (UserFiles, error) { return ReadUserConfig(where) })
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		seen()
		return err
	}
	sides, notes, err := makeSides(user, list, st.detect)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		seen()
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stamps = user.stamps // taken before the read: a change meanwhile is seen next time
	changes, err := f.replace(ctx, st.logins, &sides)
	if err != nil {
		return fmt.Errorf("following your registry configs: %w", err)
	}
	for _, n := range notes {
		log.Print(n)
	}
	if len(changes) > 0 {
		log.Printf("your registry configs changed: %s", strings.Join(changes, "; "))
	}
	return nil
}

// Interruptible runs fn on a goroutine of its own and returns when it does or when ctx
// ends, whichever comes first: a stat or a read blocked in the kernel (a hung network
// filesystem) then does not hold av, which goes on to clean up and exit; the abandoned
// call ends with the process.
func Interruptible[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// threeWay merges the user's changes into a run's file: cur is the file as the command
// left it, base the user's side it was last merged from, next the user's side now. Each
// entry (a member of the file, an auths or a credHelpers entry) that next changed from
// base takes next's value, or goes if next has none, unless cur changed it from base too
// (the command's own `docker login` or `logout`): the command's value stays. Everything
// else stays as cur has it. Values are compared as JSON, not as bytes: docker writes the
// file again in its own layout.
func threeWay(cur, base, next []byte) ([]byte, error) {
	c, err := decodeClientConfig(cur)
	if err != nil {
		return nil, err
	}
	b, err := decodeClientConfig(base)
	if err != nil {
		return nil, err
	}
	n, err := decodeClientConfig(next)
	if err != nil {
		return nil, err
	}
	merge3(c.doc, b.doc, n.doc, sameValue)
	merge3(c.auths, b.auths, n.auths, sameValue)
	merge3(c.helpers, b.helpers, n.helpers, func(x, y string) bool { return x == y })
	// The user's sides never have a credsStore (mergeDocker turned it into credHelpers):
	// one in cur is the command's, kept for the merge with the logins to turn it too.
	doc := c.doc
	if doc["auths"], err = json.Marshal(c.auths); err != nil {
		return nil, err
	}
	if len(c.helpers) > 0 {
		if doc["credHelpers"], err = json.Marshal(c.helpers); err != nil {
			return nil, err
		}
	}
	if c.store != "" {
		doc["credsStore"], _ = json.Marshal(c.store)
	}
	return json.Marshal(doc)
}

// merge3 applies to cur each key that next changed from base, unless cur changed it from
// base too.
func merge3[V any](cur, base, next map[string]V, same func(x, y V) bool) {
	keys := maps.Clone(base)
	maps.Copy(keys, next)
	for k := range keys {
		bv, inBase := base[k]
		nv, inNext := next[k]
		if inBase == inNext && (!inBase || same(bv, nv)) {
			continue // the user's side did not change it
		}
		cv, inCur := cur[k]
		if inCur != inBase || (inCur && !same(cv, bv)) {
			continue // the command changed it: its value stays
		}
		if inNext {
			cur[k] = nv
		} else {
			delete(cur, k)
		}
	}
}

// sameValue reports whether two JSON texts hold the same value (members in any order, any
// white space).
func sameValue(x, y json.RawMessage) bool {
	if bytes.Equal(x, y) {
		return true
	}
	var vx, vy any
	if json.Unmarshal(x, &vx) != nil || json.Unmarshal(y, &vy) != nil {
		return false
	}
	return reflect.DeepEqual(vx, vy)
}

// credentialChanges says which registries a file's logins (auths and credHelpers) gained,
// lost or changed from before to after: their names, never their values; "" for none.
func credentialChanges(before, after []byte) string {
	b, errB := decodeClientConfig(before)
	a, errA := decodeClientConfig(after)
	if errB != nil || errA != nil {
		return ""
	}
	type entry struct {
		auth   json.RawMessage
		helper string
	}
	entries := func(c clientConfig) map[string]entry {
		m := map[string]entry{}
		for k, v := range c.auths {
			m[k] = entry{auth: v}
		}
		for k, v := range c.helpers {
			e := m[k]
			e.helper = v
			m[k] = e
		}
		return m
	}
	eb, ea := entries(b), entries(a)
	var gained, lost, changed []string
	for k, e := range ea {
		was, ok := eb[k]
		switch {
		case !ok:
			gained = append(gained, k)
		case was.helper != e.helper || !sameValue(was.auth, e.auth):
			changed = append(changed, k)
		}
	}
	for k := range eb {
		if _, ok := ea[k]; !ok {
			lost = append(lost, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		what  string
		hosts []string
	}{{"gains", gained}, {"loses", lost}, {"changes", changed}} {
		if len(p.hosts) > 0 {
			sort.Strings(p.hosts)
			parts = append(parts, p.what+" "+strings.Join(p.hosts, ", "))
		}
	}
	return strings.Join(parts, ", ")
}
