"""Stored credentials: auth.json (files, model), the keyring, the store that picks one, and what
they are worth (status). The kinds of credential are named here, where `codex login status` can
read them without loading the auth.json model."""

#: AuthDotJson.auth_mode: a ChatGPT login, an API key, a personal access token (0.171 writes no
#: auth_mode for the last; the model calls it so).
CHATGPT = "chatgpt"
APIKEY = "apikey"
PERSONAL_ACCESS_TOKEN = "personal_access_token"
