// Token prompt: the bearer token is kept in this browser's localStorage only.
import { useState } from 'preact/hooks';
import { api, getToken, setToken } from '../api';
import type { ApiError } from '../api';
import { ErrorBox, toApiError } from '../components/common';
import { navigate } from '../router';

export function TokenPage({ next }: { next: string }) {
  const [value, setValue] = useState(getToken());
  const [error, setError] = useState<ApiError | null>(null);
  const [checking, setChecking] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setToken(value.trim());
    setChecking(true);
    try {
      // /alerts needs a valid token (viewer); /health may not.
      await api.alerts({ limit: 1 });
      navigate(/^\/(?!\/|token)/.test(next) ? next : '/');
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setChecking(false);
    }
  };
  return (
    <div class="token">
      <h1>API token</h1>
      <p>spectre-cp asks for a bearer token (from its <code>--api-tokens</code> file). It is stored in this browser only.</p>
      <form onSubmit={save}>
        <input name="token" type="password" value={value} size={48} autocomplete="off"
               onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={checking}>Save</button>
        {getToken() && <button type="button" onClick={() => { setToken(''); setValue(''); }}>Forget</button>}
      </form>
      <ErrorBox error={error} />
    </div>
  );
}
