// Go static binary test: an unrecovered panic ends the program with
// status 2 and the panic message on stderr.
package main

import "fmt"

func main() {
	fmt.Println("before the panic")
	panic("boom: unrecovered")
}
