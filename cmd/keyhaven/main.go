// Command keyhaven is the keyhaven server, command-line client and web console in one binary.
package main

import (
	"os"

	"github.com/keyhaven/keyhaven/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
