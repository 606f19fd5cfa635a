// Keys that would put a secret inline. The no-inline-secrets rule reports them with a pointer to the
// matching *_file key, so the schema rules stay quiet about them rather than calling them merely unknown.
export const INLINE_SECRET_KEYS: Record<string, string> = {
  password: 'password_file',
  bearer_token: 'authorization.credentials_file',
  credentials: 'credentials_file',
  token: 'authorization.credentials_file',
  api_key: 'authorization.credentials_file',
  secret: 'a *_file reference',
  key: 'key_file',
  cert: 'cert_file',
  ca: 'ca_file',
  client_secret: 'a *_file reference',
};
