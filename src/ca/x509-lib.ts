// @peculiar/x509 resolves its algorithm registry through tsyringe, which needs
// the Reflect metadata polyfill evaluated before the library is. Every CA
// module imports the library through this file so that order always holds.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
