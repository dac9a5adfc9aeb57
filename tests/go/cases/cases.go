// Package cases holds what the Go test programs share. Main runs a program's named cases the way
// tests/e2e/cases.ts reads them: the program's arguments after BOOTSTRAP and RUN_ID name the cases to run (none: all,
// sorted; `--list`: print the names and stop); each case prints `CASE ok <name> <ms>` or `CASE fail <name> <message>`
// on stdout, with the details on stderr after `case <name> failed:`; the program exits 1 when a case failed. Poll
// (poll.go) is a franz-go group member's consume loop; Fail ends a program without cases.
package cases

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// Main runs the cases os.Args[3:] names (see the package comment) and exits 1 if one failed.
func Main(cases map[string]func() error) {
	names := os.Args[3:]
	list := len(names) == 1 && names[0] == "--list"
	if list || len(names) == 0 {
		names = nil
		for n := range cases {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	if list {
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	failed := false
	for _, n := range names {
		start := time.Now()
		f, ok := cases[n]
		var err error
		if !ok {
			err = errors.New("no such case")
		} else {
			err = f()
		}
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "case %s failed:\n%v\n\n", n, err)
			fmt.Printf("CASE fail %s %v\n", n, err)
		} else {
			fmt.Printf("CASE ok %s %d\n", n, time.Since(start).Milliseconds())
		}
	}
	if failed {
		os.Exit(1)
	}
}

// Fail prints the message on stderr and exits 1 (a program without cases failing its one run).
func Fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}
