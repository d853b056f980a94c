// SchemaCompatibilityCheck — every version of every record schema must be backward AND forward
// compatible with every other one (Confluent's FULL_TRANSITIVE), decided by Apache Avro's own
// SchemaCompatibility, not by our codec (docs/schemas.md, "What CI checks").
//
// Usage: java -cp <avro jars> SchemaCompatibilityCheck.java DIR [DIR...]
// Each DIR holds <Record>/v<N>.avsc (the layout of schemas/history/); the versions of one
// record are gathered from every DIR. Exit 0 when every pair is compatible both ways, 1 (with
// one line per incompatibility) otherwise, 2 on unreadable or unparsable input.
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;

public class SchemaCompatibilityCheck {
    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: SchemaCompatibilityCheck DIR [DIR...]");
            System.exit(2);
        }
        // record name -> version number -> (file, schema)
        Map<String, TreeMap<Integer, Object[]>> records = new TreeMap<>();
        for (String dir : args) {
            try (DirectoryStream<Path> recordDirs = Files.newDirectoryStream(Path.of(dir))) {
                for (Path recordDir : recordDirs) {
                    if (!Files.isDirectory(recordDir)) {
                        continue;
                    }
                    try (DirectoryStream<Path> files = Files.newDirectoryStream(recordDir, "v*.avsc")) {
                        for (Path file : files) {
                            String name = file.getFileName().toString();
                            int version = Integer.parseInt(name.substring(1, name.length() - 5));
                            Schema schema;
                            try {
                                schema = new Schema.Parser().parse(file.toFile());
                            } catch (Exception error) {
                                System.err.println("schema-check: " + file + ": not a valid Avro schema: " + error.getMessage());
                                System.exit(2);
                                return;
                            }
                            Object[] previous = records.computeIfAbsent(recordDir.getFileName().toString(), key -> new TreeMap<>())
                                                       .put(version, new Object[] {file, schema});
                            if (previous != null && !previous[1].equals(schema)) {
                                System.err.println("schema-check: " + file + ": version " + version + " differs from " + previous[0]);
                                System.exit(2);
                            }
                        }
                    }
                }
            }
        }
        int pairs = 0;
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, TreeMap<Integer, Object[]>> record : records.entrySet()) {
            List<Object[]> versions = new ArrayList<>(record.getValue().values());
            for (int later = 0; later < versions.size(); later++) {
                for (int earlier = 0; earlier < later; earlier++) {
                    pairs++;
                    check(failures, "backward", versions.get(later), versions.get(earlier));
                    check(failures, "forward", versions.get(earlier), versions.get(later));
                }
            }
            System.out.println("schema-check: " + record.getKey() + ": versions " + record.getValue().keySet());
        }
        if (!failures.isEmpty()) {
            failures.forEach(System.err::println);
            System.err.println("schema-check: FAILED: " + failures.size() + " incompatibilities (FULL_TRANSITIVE)");
            System.exit(1);
        }
        System.out.println("schema-check: " + pairs + " version pairs compatible both ways (FULL_TRANSITIVE)");
    }

    // reader reads what writer wrote?
    private static void check(List<String> failures, String direction, Object[] reader, Object[] writer) {
        SchemaPairCompatibility result =
            SchemaCompatibility.checkReaderWriterCompatibility((Schema) reader[1], (Schema) writer[1]);
        if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
            failures.add("schema-check: " + direction + " incompatible: " + reader[0] + " cannot read what "
                         + writer[0] + " wrote: " + result.getResult().getIncompatibilities());
        }
    }
}
