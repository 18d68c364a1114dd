// The app PM2 runs in cluster mode (`instances: 2, exec_mode: 'cluster'`): same handler (hello.mjs), same address.
import http from 'node:http';
import handler from './hello.mjs';

http.createServer(handler).listen(Number(process.env.PORT), '127.0.0.1');
