package atomicfile_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/arrfile/arrfile/internal/atomicfile"
)

func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "notes.txt")

	f, err := atomicfile.Create(name, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(atomicfile.Target(filepath.Base(f.Name())))
	if _, err := f.WriteString("complete\n"); err != nil {
		atomicfile.Abandon(f) // removes the temporary file
		log.Fatal(err)
	}
	if err := atomicfile.Publish(f, name, false); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(name)
	fmt.Print(string(b))
	// Output:
	// notes.txt true
	// complete
}
