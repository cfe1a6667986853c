import { databaseContract } from './database-contract.js';
import { relationalContract } from './relational-contract.js';

import { openPgliteDatabase } from '../../../src/core/db/pglite.js';

databaseContract('pglite (in memory)', () => openPgliteDatabase());
relationalContract('pglite (in memory)', () => openPgliteDatabase());
