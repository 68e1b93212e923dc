package client

import (
	"testing"
)

func TestParseResponseError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    ResponseError
		wantMsg string
	}{
		{
			name:    "not found",
			status:  404,
			body:    `{"error":{"code":"SecretNotFound","message":"A secret with (name/id) x was not found in this key vault"}}`,
			want:    ResponseError{StatusCode: 404, Code: "SecretNotFound", Message: "A secret with (name/id) x was not found in this key vault"},
			wantMsg: "SecretNotFound (404): A secret with (name/id) x was not found in this key vault",
		},
		{
			name:    "inner error",
			status:  409,
			body:    `{"error":{"code":"Conflict","message":"Secret x is currently in a deleted but recoverable state.","innererror":{"code":"ObjectIsDeletedButRecoverable"}}}`,
			want:    ResponseError{StatusCode: 409, Code: "Conflict", InnerCode: "ObjectIsDeletedButRecoverable", Message: "Secret x is currently in a deleted but recoverable state."},
			wantMsg: "Conflict (409, ObjectIsDeletedButRecoverable): Secret x is currently in a deleted but recoverable state.",
		},
		{
			name:    "null innererror",
			status:  400,
			body:    `{"error":{"code":"BadParameter","message":"bad","innererror":null}}`,
			want:    ResponseError{StatusCode: 400, Code: "BadParameter", Message: "bad"},
			wantMsg: "BadParameter (400): bad",
		},
		{
			name:    "body is not the envelope and is not quoted",
			status:  502,
			body:    `<html>upstream echoed s3cret</html>`,
			want:    ResponseError{StatusCode: 502, Message: "Bad Gateway"},
			wantMsg: "HTTP (502): Bad Gateway",
		},
		{
			name:    "empty body",
			status:  403,
			want:    ResponseError{StatusCode: 403, Message: "Forbidden"},
			wantMsg: "HTTP (403): Forbidden",
		},
		{
			name:    "code without message",
			status:  429,
			body:    `{"error":{"code":"Throttled"}}`,
			want:    ResponseError{StatusCode: 429, Code: "Throttled", Message: "Too Many Requests"},
			wantMsg: "Throttled (429): Too Many Requests",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseResponseError(tt.status, []byte(tt.body))
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
			if got.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.wantMsg)
			}
		})
	}
}
