// The Java side of the Aeron interop test, run with the official client from aeron-all:
//   java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp aeron-all.jar Interop.java pub|sub <aeron.dir> <channel> <streamId> <count>
// Both sides agree on the messages: message i has length LENGTHS[i % LENGTHS.length] and byte j
// equal to (i * 31 + j) & 0xff, so either side can check every byte it receives.
import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import org.agrona.concurrent.UnsafeBuffer;

public class Interop {
    static final int[] LENGTHS = {1, 64, 1_000, 1_408, 5_000, 100_000, 0};

    static byte expected(int i, int j) {
        return (byte) ((i * 31 + j) & 0xff);
    }

    public static void main(String[] args) throws Exception {
        final String mode = args[0];
        final Aeron.Context ctx = new Aeron.Context().aeronDirectoryName(args[1]);
        final String channel = args[2];
        final int streamId = Integer.parseInt(args[3]);
        final int count = Integer.parseInt(args[4]);
        try (Aeron aeron = Aeron.connect(ctx)) {
            if (mode.equals("pub")) publish(aeron, channel, streamId, count);
            else subscribe(aeron, channel, streamId, count);
        }
    }

    static void publish(Aeron aeron, String channel, int streamId, int count) throws Exception {
        try (Publication publication = aeron.addPublication(channel, streamId)) {
            final long deadline = System.currentTimeMillis() + 30_000;
            while (!publication.isConnected()) {
                if (System.currentTimeMillis() > deadline) fail("no subscriber connected");
                Thread.sleep(1);
            }
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[200_000]);
            for (int i = 0; i < count; i++) {
                final int length = LENGTHS[i % LENGTHS.length];
                for (int j = 0; j < length; j++) buffer.putByte(j, expected(i, j));
                long result;
                while ((result = publication.offer(buffer, 0, length)) < 0) {
                    if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED) fail("offer " + result);
                    if (System.currentTimeMillis() > deadline) fail("offer timed out: " + result);
                    Thread.onSpinWait();
                }
            }
            System.out.println("published " + count);
            // Stay until the subscriber has read everything: it closes its side when done.
            while (publication.isConnected() && System.currentTimeMillis() < deadline) Thread.sleep(10);
        }
    }

    static void subscribe(Aeron aeron, String channel, int streamId, int count) throws Exception {
        final int[] received = {0};
        final FragmentAssembler assembler = new FragmentAssembler((buffer, offset, length, header) -> {
            final int i = received[0];
            final int want = LENGTHS[i % LENGTHS.length];
            if (length != want) fail("message " + i + " has " + length + " bytes, expected " + want);
            for (int j = 0; j < length; j++) {
                if (buffer.getByte(offset + j) != expected(i, j)) fail("message " + i + " differs at byte " + j);
            }
            received[0]++;
        });
        try (Subscription subscription = aeron.addSubscription(channel, streamId)) {
            System.out.println("subscribed");
            final long deadline = System.currentTimeMillis() + 30_000;
            while (received[0] < count) {
                if (System.currentTimeMillis() > deadline) fail("received " + received[0] + " of " + count);
                if (subscription.poll(assembler, 64) == 0) Thread.onSpinWait();
            }
            System.out.println("received " + received[0]);
        }
    }

    static void fail(String why) {
        System.out.println("FAILED: " + why);
        System.exit(1);
    }
}
