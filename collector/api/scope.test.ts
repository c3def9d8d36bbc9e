/** The scope rules against the embedded SQLite store (the table itself is in testing/scope-suite.ts). */
import { openTestStore } from './testing/fixtures.ts';
import { describeScopeRules } from './testing/scope-suite.ts';

describeScopeRules('sqlite', openTestStore);
