package runner

import (
	"os"
	"os/signal"
)

// notifyUnlessIgnored relays to c those of sigs that av did not inherit as ignored, and
// returns them. Go's signal.Notify turns an ignored signal back on, and a child then starts
// with it at its default: `nohup av dev -- deploy &` would die of the SIGHUP that nohup set
// it to ignore, and `av dev -- task &` in a script would die of the Ctrl-C that bash set its
// background jobs to ignore. Left alone, an ignored signal stays ignored for av and, across
// exec, for the command: as without av.
func notifyUnlessIgnored(c chan<- os.Signal, sigs ...os.Signal) []os.Signal {
	var caught []os.Signal
	for _, s := range sigs {
		if !signal.Ignored(s) {
			caught = append(caught, s)
		}
	}
	if len(caught) > 0 { // Notify with no signal at all would relay every signal
		signal.Notify(c, caught...)
	}
	return caught
}
