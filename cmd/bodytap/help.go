package main

import (
	"context"
	"fmt"

	"github.com/bodytap/bodytap/filter"
)

func runHelp(ctx context.Context, e *env, args []string) error {
	args, err := parse(e, newFlags("help"), args)
	if err != nil {
		return err
	}
	switch {
	case len(args) == 0:
		usage(e.stdout)
		return nil
	case len(args) > 1:
		return usagef("want one topic, got %d", len(args))
	case args[0] == "filters":
		fmt.Fprint(e.stdout, filter.Help)
		return nil
	}
	c := lookup(args[0])
	if c == nil {
		return usagef("no help for %q: try a command name or 'filters'", args[0])
	}
	return c.run(ctx, e, []string{"--help"})
}
