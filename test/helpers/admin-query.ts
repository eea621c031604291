import pg from 'pg';

/** Runs one statement (CREATE/DROP DATABASE) on its own connection to the admin URL. */
export async function adminQuery(adminUrl: string, sql: string, applicationName = 'chronicle-test'): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: applicationName });
  client.on('error', () => {
    // A connection error between queries; the query below reports it.
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
