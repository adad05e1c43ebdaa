import { render } from 'preact';
import { App } from './app';
import { takeTokenFromAddress } from './auth';
import { loadConfig } from './config';
import './styles.css';

// Before anything else: the token must leave the address bar (and history) at once.
const initialToken = takeTokenFromAddress();
const root = document.getElementById('app')!;

loadConfig().then(
  (config) => render(<App config={config} initialToken={initialToken} />, root),
  (err: Error) => render(<p role="alert" class="form-error">The console cannot start: {err.message}</p>, root),
);
