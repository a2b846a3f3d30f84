// URLs in messages and listings: credentials never shown, never stored.
#pragma once

#include <string>
#include <string_view>

namespace kura {

// `url` fit to print: a user name and password ("https://AKIA:secret@host")
// become "***@", and the values of query parameters that carry credentials
// or signatures (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
// Signature, AWSAccessKeyId, and any whose name holds "token", "secret",
// "password" or "key") become "***". Every URL kura prints goes through it.
std::string redact_url(std::string_view url);

// Whether `url` carries user information ("user[:password]@") before its host.
bool url_has_userinfo(std::string_view url);

// Throws Error(kInvalidInput) when `url` has user information: `what` names
// where it came from ("--endpoint", "the remote URL", "AWS_ENDPOINT_URL").
// The message shows the URL redacted and says to use AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY instead; kura never stores a credential.
void refuse_userinfo(std::string_view url, const std::string& what);

}  // namespace kura
