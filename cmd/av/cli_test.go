package main

import (
	"reflect"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	profiles := map[string]bool{"dev": true, "prod": true}
	isProfile := func(s string) bool { return profiles[s] }
	tests := []struct {
		name       string
		args       []string
		envProfile string
		want       invocation
	}{
		{"explicit with --", []string{"dev", "--", "crane", "push"}, "", invocation{"dev", true, []string{"crane", "push"}}},
		{"explicit unknown profile with --", []string{"nosuch", "--", "true"}, "", invocation{"nosuch", true, []string{"true"}}},
		{"first word is a profile", []string{"prod", "make", "images"}, "", invocation{"prod", true, []string{"make", "images"}}},
		{"first word is a command", []string{"make", "images"}, "", invocation{"default", false, []string{"make", "images"}}},
		{"AWS_PROFILE when no profile named", []string{"make"}, "ci", invocation{"ci", false, []string{"make"}}},
		{"profile alone runs the shell", []string{"dev"}, "", invocation{"dev", true, []string{}}},
		{"profile and -- alone runs the shell", []string{"dev", "--"}, "", invocation{"dev", true, []string{}}},
		{"nothing at all", nil, "", invocation{"default", false, nil}},
		{"a later -- belongs to the command", []string{"make", "x", "--", "y"}, "", invocation{"default", false, []string{"make", "x", "--", "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitArgs(tt.args, isProfile, tt.envProfile)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}
