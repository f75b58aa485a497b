package main

import (
	"fmt"
	"io"

	"github.com/alecthomas/kong"
)

// Every --help ends with examples: kong prints a command's Help() (its detail) before its
// arguments and flags, so av's help printer adds them after everything else.

// exampled is a command whose --help ends with examples.
type exampled interface{ Examples() []string }

// rootExamples end `av --help`, which fits on one screen: av's main job, and the first
// command a new user needs.
var rootExamples = []string{
	"av add dev                          # store profile dev's keys (asked for)",
	"av dev -- docker push $ECR/app:1.0  # push with a throwaway ECR login",
}

// Examples end the run's own help, av exec --help.
func (e *ExecCmd) Examples() []string {
	return []string{
		"av add dev                                # store profile dev's keys (asked for, not echoed)",
		"av dev -- docker push $ECR/app:1.0        # push with a throwaway ECR login",
		"av dev -- helm push app-1.0.tgz oci://$ECR/charts",
		"av dev make images                        # dev is in ~/.aws/config: no -- needed",
		"av -r public.ecr.aws dev -- crane ls public.ecr.aws/docker/library/alpine",
		"av dev                                    # a shell with the credentials and the logins",
		"av --ambient ci -- make push              # in CI: the job's own AWS identity, no vault",
		"av list                                   # the profiles, their keys and cached tokens",
		"eval \"$(av completion bash)\"              # Tab completion (see av completion --help)",
	}
}

// helpExamples are the examples of the command --help was asked for.
func helpExamples(ctx *kong.Context) []string {
	sel := ctx.Selected()
	if sel == nil {
		return rootExamples
	}
	if sel.Target.CanAddr() {
		if e, ok := sel.Target.Addr().Interface().(exampled); ok {
			return e.Examples()
		}
	}
	return nil
}

func printExamples(w io.Writer, examples []string) error {
	if len(examples) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "\nExamples:"); err != nil {
		return err
	}
	for _, e := range examples {
		if _, err := fmt.Fprintf(w, "  %s\n", e); err != nil {
			return err
		}
	}
	return nil
}
