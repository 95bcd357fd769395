package qdrantfake

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The messages below follow the text real Qdrant sends for the same mistakes,
// so that code matching on them behaves the same against both.

func errNotFound(collection string) error {
	return status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", collection)
}

func errAlreadyExists(collection string) error {
	return status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", collection)
}

// errEmptyUpdate is Qdrant's answer to an update that touches no point, such
// as an upsert of no points.
func errEmptyUpdate() error {
	return status.Error(codes.InvalidArgument, "Bad request: Empty update request")
}

func errDim(expected, got int) error {
	return status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", expected, got)
}

func errVectorName(name string) error {
	return status.Errorf(codes.InvalidArgument, "Wrong input: Not existing vector name error: %s", name)
}

func errInvalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "Wrong input: %s", fmt.Sprintf(format, args...))
}

func errValidation(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "Validation error in body: [%s]", fmt.Sprintf(format, args...))
}

// errValidations reports several validation problems in one error, joined as
// Qdrant joins them.
func errValidations(problems []string) error {
	return errValidation("%s", strings.Join(problems, "; "))
}

func errUnsupported(what string) error {
	return status.Errorf(codes.Unimplemented, "qdrantfake: %s is not supported by the embedded stand-in", what)
}
