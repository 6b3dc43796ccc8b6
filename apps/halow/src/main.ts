// Placeholder until the service lands.
process.stdout.write('halow\n');
