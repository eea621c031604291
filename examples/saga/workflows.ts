import { ApplicationFailure, CancellationScope, proxyActivities } from 'chronicle/workflow';
import type * as activities from './activities.js';

const { bookFlight, bookHotel, bookCar, cancelFlight, cancelHotel, cancelCar } = proxyActivities<typeof activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '100ms', maximumAttempts: 3 },
});

export interface TripRequest {
  readonly tripId: string;
  /** Which booking fails for good (to see the compensation run); none when absent. */
  readonly failAt?: 'flight' | 'hotel' | 'car';
}

/**
 * A saga: book a flight, a hotel and a car; when a step fails for good, undo the steps that
 * succeeded, newest first, and fail the trip with the original cause. Compensations run in a
 * non-cancellable scope so they complete even when the trip itself is being cancelled.
 */
export async function bookTrip(trip: TripRequest): Promise<string[]> {
  const compensations: Array<() => Promise<unknown>> = [];
  const booked: string[] = [];
  try {
    booked.push(await bookFlight(trip.tripId, trip.failAt === 'flight'));
    compensations.unshift(() => cancelFlight(trip.tripId));
    booked.push(await bookHotel(trip.tripId, trip.failAt === 'hotel'));
    compensations.unshift(() => cancelHotel(trip.tripId));
    booked.push(await bookCar(trip.tripId, trip.failAt === 'car'));
    compensations.unshift(() => cancelCar(trip.tripId));
    return booked;
  } catch (err) {
    await CancellationScope.nonCancellable(async () => {
      for (const compensate of compensations) await compensate();
    });
    throw ApplicationFailure.create({
      type: 'TripBookingFailed',
      message: `trip ${trip.tripId} could not be booked; undid ${compensations.length} booking(s)`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
}
